"""Sightline's two-level category taxonomy (group / category) for lifestyle insight.

Each category owns the MCCs that map to it (an MCC belongs to exactly one category), lists other
typical MCCs it shares with a broader category (``also``), maps to exactly one Plaid personal
finance category v2 pair, and carries UPPERCASE keywords that suggest it in a descriptor.
The Visa/Mastercard private ranges of airline, car-rental and lodging MCCs (3000–3999) map by
range. Categories that never appear on the card networks (income, own-account transfers, checks)
have no MCC.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = [
    "CATEGORIES",
    "GROUPS",
    "MCC_RANGES",
    "UNCATEGORIZED",
    "Category",
    "category_for_mcc",
    "find_category",
]


@dataclass(frozen=True, slots=True)
class Category:
    category_group: str
    category: str
    mccs: tuple[str, ...]
    """MCCs typical of the category, the owned ones first."""
    pfc_primary: str
    pfc_detailed: str
    keywords: tuple[str, ...]
    owned_mccs: tuple[str, ...] = ()
    """The MCCs whose category this is (each MCC is owned by exactly one category)."""


def _primary_of(detailed: str) -> str:
    for primary in _MULTIWORD_PRIMARIES:
        if detailed.startswith(primary + "_"):
            return primary
    return detailed.split("_", 1)[0]


# Plaid primaries whose names contain an underscore, longest first.
_MULTIWORD_PRIMARIES = (
    "GOVERNMENT_AND_NON_PROFIT",
    "GENERAL_MERCHANDISE",
    "RENT_AND_UTILITIES",
    "LOAN_DISBURSEMENTS",
    "HOME_IMPROVEMENT",
    "GENERAL_SERVICES",
    "FOOD_AND_DRINK",
    "PERSONAL_CARE",
    "LOAN_PAYMENTS",
    "TRANSFER_OUT",
    "TRANSFER_IN",
    "BANK_FEES",
)


FOOD = "Food & Dining"
SHOP = "Shopping"
ENT = "Entertainment"
SPORT = "Sports & Fitness"
TRAVEL = "Travel"
AUTO = "Auto & Transport"
BILLS = "Bills & Utilities"
HOME = "Home"
HEALTH = "Health"
CARE = "Personal Care"
PETS = "Pets"
KIDS = "Kids & Family"
EDU = "Education"
BIZ = "Business Services"
GIFTS = "Gifts & Donations"
GOV = "Government & Taxes"
FIN = "Financial"
XFER = "Transfers"
FEES = "Fees"
CASH = "Cash"
CHECKS = "Checks"
INCOME = "Income"
OTHER = "Uncategorized"

_SPECS: tuple[tuple[str, str, str, str, str, str], ...] = (
    # group, category, pfc_detailed, owned MCCs, keywords, also-typical MCCs
    # Food & Dining
    (
        FOOD,
        "Coffee Shops",
        "FOOD_AND_DRINK_COFFEE",
        "",
        "COFFEE CAFE ESPRESSO ROASTERS ROASTERY LATTE BEANERY",
        "5814 5812",
    ),
    (
        FOOD,
        "Fast Food",
        "FOOD_AND_DRINK_FAST_FOOD",
        "5814",
        "BURGER BURGERS DRIVE_IN DRIVE_THRU CHICKEN TACO WINGS HOT_DOG",
        "",
    ),
    (
        FOOD,
        "Restaurants",
        "FOOD_AND_DRINK_RESTAURANT",
        "5812",
        "RESTAURANT GRILL BISTRO KITCHEN DINER STEAKHOUSE TAVERN EATERY TRATTORIA CANTINA",
        "",
    ),
    (FOOD, "Pizza", "FOOD_AND_DRINK_RESTAURANT", "", "PIZZA PIZZERIA", "5814 5812"),
    (
        FOOD,
        "Sushi & Asian",
        "FOOD_AND_DRINK_RESTAURANT",
        "",
        "SUSHI RAMEN PHO THAI WOK NOODLE TERIYAKI HIBACHI",
        "5812",
    ),
    (
        FOOD,
        "Mexican",
        "FOOD_AND_DRINK_RESTAURANT",
        "",
        "TAQUERIA MEXICAN BURRITO CANTINA",
        "5812 5814",
    ),
    (
        FOOD,
        "Bars & Nightlife",
        "FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR",
        "5813",
        "BAR PUB SALOON LOUNGE TAPROOM BREWPUB NIGHTCLUB BREWERY",
        "",
    ),
    (
        FOOD,
        "Groceries",
        "FOOD_AND_DRINK_GROCERIES",
        "5411 5422 5451",
        "GROCERY GROCERIES SUPERMARKET MARKET FOODS FRESH",
        "",
    ),
    (
        FOOD,
        "Bakeries & Desserts",
        "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK",
        "5462 5441",
        "BAKERY BAKE DONUT DONUTS BAGEL CUPCAKE ICE_CREAM FROZEN_YOGURT GELATO CANDY CHOCOLATE",
        "",
    ),
    (
        FOOD,
        "Specialty Food",
        "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK",
        "5499",
        "DELI BUTCHER SEAFOOD_MARKET SMOOTHIE JUICE TEA BOBA",
        "",
    ),
    (FOOD, "Catering", "FOOD_AND_DRINK_RESTAURANT", "5811", "CATERING CATERER", ""),
    (
        FOOD,
        "Liquor Stores",
        "FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR",
        "5921 0743 0744 5715",
        "LIQUOR WINE SPIRITS BOTTLE_SHOP PACKAGE_STORE",
        "",
    ),
    (FOOD, "Vending Machines", "FOOD_AND_DRINK_VENDING_MACHINES", "", "VENDING", "5499 5814"),
    (
        FOOD,
        "Food Delivery",
        "FOOD_AND_DRINK_RESTAURANT",
        "",
        "DOORDASH GRUBHUB UBER_EATS POSTMATES DELIVERY",
        "5812 5814",
    ),
    # Shopping
    (
        SHOP,
        "Superstores",
        "GENERAL_MERCHANDISE_SUPERSTORES",
        "5300 5399",
        "SUPERCENTER SUPERSTORE WHOLESALE",
        "",
    ),
    (
        SHOP,
        "Department Stores",
        "GENERAL_MERCHANDISE_DEPARTMENT_STORES",
        "5311",
        "DEPARTMENT_STORE DEPT_STORE",
        "",
    ),
    (
        SHOP,
        "Discount Stores",
        "GENERAL_MERCHANDISE_DISCOUNT_STORES",
        "5310 5331",
        "DOLLAR DISCOUNT OUTLET VARIETY",
        "",
    ),
    (
        SHOP,
        "Convenience Stores",
        "GENERAL_MERCHANDISE_CONVENIENCE_STORES",
        "",
        "CONVENIENCE MART FOOD_MART MINI_MART C-STORE",
        "5499 5541",
    ),
    (
        SHOP,
        "Clothing",
        "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES",
        "5611 5621 5631 5641 5651 5655 5681 5691 5699 5137 5131",
        "APPAREL CLOTHING BOUTIQUE FASHION OUTFITTERS DENIM",
        "",
    ),
    (
        SHOP,
        "Shoes",
        "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES",
        "5661 5139",
        "SHOE SHOES FOOTWEAR SNEAKER",
        "",
    ),
    (
        SHOP,
        "Jewelry & Accessories",
        "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES",
        "5944 5094 5948 5950",
        "JEWELRY JEWELERS JEWELLERS DIAMOND WATCHES LUGGAGE HANDBAGS",
        "",
    ),
    (
        SHOP,
        "Electronics",
        "GENERAL_MERCHANDISE_ELECTRONICS",
        "5732 5045 5065 4812 5946 5997 5978 5044",
        "ELECTRONICS COMPUTER COMPUTERS WIRELESS CAMERA APPLE_STORE",
        "",
    ),
    (
        SHOP,
        "Software & Apps",
        "GENERAL_MERCHANDISE_ELECTRONICS",
        "5734 5817 5818",
        "SOFTWARE APP_STORE APPS",
        "",
    ),
    (
        SHOP,
        "Online Marketplaces",
        "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
        "5262 5961 5964 5965 5969",
        "MARKETPLACE MKTP AMZN ONLINE ETSY EBAY",
        "",
    ),
    (
        SHOP,
        "Books & News",
        "GENERAL_MERCHANDISE_BOOKSTORES_AND_NEWSSTANDS",
        "5942 5994 5192 2741",
        "BOOKS BOOKSTORE BOOKSELLERS NEWSSTAND MAGAZINE NEWSPAPER",
        "",
    ),
    (
        SHOP,
        "Sporting Goods",
        "GENERAL_MERCHANDISE_SPORTING_GOODS",
        "5941 5940 5551 5571 5598",
        "SPORTING_GOODS SPORTS OUTDOOR OUTDOORS BIKE BICYCLE GUN FISHING GOLF_SHOP",
        "",
    ),
    (
        SHOP,
        "Hobbies & Crafts",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "5945 5970 5949 5733 5735 5972",
        "HOBBY CRAFTS FABRIC YARN MUSIC_STORE GUITAR",
        "",
    ),
    (
        SHOP,
        "Beauty Products",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "5977",
        "COSMETICS BEAUTY_SUPPLY FRAGRANCE PERFUME MAKEUP",
        "",
    ),
    (
        SHOP,
        "Office Supplies",
        "GENERAL_MERCHANDISE_OFFICE_SUPPLIES",
        "5943 5111 5021",
        "OFFICE_SUPPLY STATIONERY OFFICE_DEPOT",
        "",
    ),
    (
        SHOP,
        "Tobacco & Vape",
        "GENERAL_MERCHANDISE_TOBACCO_AND_VAPE",
        "5993",
        "TOBACCO SMOKE VAPE CIGAR CIGARS HOOKAH CANNABIS DISPENSARY",
        "",
    ),
    (
        SHOP,
        "Second-Hand & Pawn",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "5931 5932 5933 5937 5832",
        "THRIFT PAWN CONSIGNMENT RESALE ANTIQUES ANTIQUE VINTAGE",
        "",
    ),
    (
        SHOP,
        "Gift Shops",
        "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES",
        "5947 5309",
        "GIFTS GIFT_SHOP SOUVENIRS NOVELTY PARTY_SUPPLY",
        "",
    ),
    (
        SHOP,
        "Florists",
        "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES",
        "5992 5193",
        "FLORIST FLOWERS FLORAL",
        "",
    ),
    (SHOP, "Adult Stores", "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE", "", "ADULT", "5999"),
    (
        SHOP,
        "General Merchandise",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "5999 5099 5199 5963 5966 5967 5046 5085 5169 5051 2842 5973 5998 5599",
        "STORE SHOP RETAIL MERCHANDISE",
        "",
    ),
    (
        SHOP,
        "Subscription Boxes",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "5968",
        "SUBSCRIPTION MEMBERSHIP",
        "",
    ),
    # Entertainment
    (
        ENT,
        "Movie Theaters",
        "ENTERTAINMENT_TV_AND_MOVIES",
        "7832 7829",
        "CINEMA CINEMAS THEATRE THEATER THEATRES MOVIES IMAX",
        "",
    ),
    (
        ENT,
        "Streaming Video",
        "ENTERTAINMENT_TV_AND_MOVIES",
        "7841",
        "STREAMING NETFLIX HULU DISNEY_PLUS HBO PEACOCK PARAMOUNT",
        "4899 5815",
    ),
    (
        ENT,
        "Music & Audio",
        "ENTERTAINMENT_MUSIC_AND_AUDIO",
        "5815",
        "SPOTIFY MUSIC AUDIO PODCAST AUDIBLE",
        "",
    ),
    (
        ENT,
        "Video Games",
        "ENTERTAINMENT_VIDEO_GAMES",
        "5816 7993",
        "GAMES GAMING PLAYSTATION XBOX NINTENDO STEAM GAMESTOP",
        "",
    ),
    (ENT, "Arcades", "ENTERTAINMENT_OTHER_ENTERTAINMENT", "7994", "ARCADE ARCADES", ""),
    (ENT, "Bowling", "ENTERTAINMENT_OTHER_ENTERTAINMENT", "7933", "BOWL BOWLING LANES", ""),
    (ENT, "Billiards", "ENTERTAINMENT_OTHER_ENTERTAINMENT", "7932", "BILLIARDS POOL_HALL", ""),
    (
        ENT,
        "Miniature Golf",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "",
        "MINI_GOLF MINIGOLF MINIATURE_GOLF MINI_G PUTT_PUTT ADVENTURE_GOLF",
        "7999 7996",
    ),
    (
        ENT,
        "Amusement Parks",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "7996",
        "AMUSEMENT THEME_PARK WATER_PARK WATERPARK SIX_FLAGS CARNIVAL FUNPARK",
        "",
    ),
    (
        ENT,
        "Museums & Attractions",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "7991 7998 4733",
        "MUSEUM ZOO AQUARIUM GARDENS ATTRACTION EXHIBIT PLANETARIUM",
        "",
    ),
    (
        ENT,
        "Concerts & Live Events",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "7922 7929",
        "TICKETS TICKETMASTER CONCERT LIVE_NATION STUBHUB SEATGEEK EVENTS",
        "",
    ),
    (
        ENT,
        "Sporting Events",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "7941",
        "STADIUM ARENA BALLPARK ATHLETICS",
        "",
    ),
    (
        ENT,
        "Gambling & Lottery",
        "ENTERTAINMENT_CASINOS_AND_GAMBLING",
        "7800 7801 7802 7995 9406",
        "CASINO LOTTERY LOTTO SPORTSBOOK DRAFTKINGS FANDUEL BETTING POKER",
        "",
    ),
    (
        ENT,
        "Recreation",
        "ENTERTAINMENT_OTHER_ENTERTAINMENT",
        "7999 7911",
        "RECREATION TRAMPOLINE ESCAPE_ROOM LASER_TAG GO_KART KARTING SKATING",
        "",
    ),
    (
        ENT,
        "Dating",
        "ENTERTAINMENT_OTHER_ENTERTAINMENT",
        "7273",
        "DATING MATCH.COM TINDER BUMBLE HINGE",
        "",
    ),
    (
        ENT,
        "Photography & Art",
        "ENTERTAINMENT_OTHER_ENTERTAINMENT",
        "5971 7221 7333 7395",
        "GALLERY PHOTO PHOTOGRAPHY STUDIO PORTRAIT",
        "",
    ),
    # Sports & Fitness
    (
        SPORT,
        "Gyms & Fitness",
        "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS",
        "",
        "GYM FITNESS YOGA PILATES CROSSFIT BARRE CYCLING",
        "7997 7941",
    ),
    (
        SPORT,
        "Golf",
        "ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS",
        "7992",
        "GOLF GOLF_COURSE COUNTRY_CLUB LINKS",
        "",
    ),
    (
        SPORT,
        "Clubs & Memberships",
        "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS",
        "7997",
        "ATHLETIC_CLUB TENNIS SWIM_CLUB HEALTH_CLUB",
        "",
    ),
    (
        SPORT,
        "Outdoor Recreation",
        "ENTERTAINMENT_OTHER_ENTERTAINMENT",
        "7032 4457 4468",
        "SKI MARINA CAMP PARKS STATE_PARK NATIONAL_PARK OUTFITTER RAFTING",
        "",
    ),
    # Travel
    (TRAVEL, "Airlines", "TRAVEL_FLIGHTS", "4511 4582", "AIRLINES AIRLINE AIRWAYS AIRPORT", ""),
    (
        TRAVEL,
        "Hotels",
        "TRAVEL_LODGING",
        "7011 7012 7033",
        "HOTEL HOTELS INN MOTEL RESORT SUITES LODGE AIRBNB VRBO",
        "",
    ),
    (
        TRAVEL,
        "Car Rental",
        "TRAVEL_RENTAL_CARS",
        "7512 7513 7519",
        "RENT_A_CAR CAR_RENTAL RENTAL",
        "",
    ),
    (TRAVEL, "Cruises", "TRAVEL_OTHER_TRAVEL", "4411", "CRUISE CRUISES CRUISE_LINE", ""),
    (
        TRAVEL,
        "Travel Agencies",
        "TRAVEL_OTHER_TRAVEL",
        "4722 4723 5962",
        "TRAVEL EXPEDIA BOOKING.COM PRICELINE TOURS VACATIONS",
        "",
    ),
    (
        TRAVEL,
        "Trains & Buses",
        "TRANSPORTATION_PUBLIC_TRANSIT",
        "4112 4131 4011",
        "AMTRAK GREYHOUND RAIL BUS_LINES MEGABUS",
        "",
    ),
    # Auto & Transport
    (
        AUTO,
        "Gas Stations",
        "TRANSPORTATION_GAS",
        "5541 5542 5983 5172 7511",
        "GAS FUEL PETRO PETROLEUM GASOLINE SHELL EXXON CHEVRON",
        "",
    ),
    (AUTO, "EV Charging", "TRANSPORTATION_GAS", "5552", "CHARGEPOINT SUPERCHARGER EV_CHARGING", ""),
    (
        AUTO,
        "Ride Share & Taxi",
        "TRANSPORTATION_TAXIS_AND_RIDE_SHARES",
        "4121",
        "UBER LYFT TAXI CAB LIMO LIMOUSINE",
        "",
    ),
    (
        AUTO,
        "Public Transit",
        "TRANSPORTATION_PUBLIC_TRANSIT",
        "4111",
        "TRANSIT METRO MTA BART SUBWAY RAILWAY COMMUTER",
        "",
    ),
    (AUTO, "Parking", "TRANSPORTATION_PARKING", "7523", "PARKING PARKMOBILE GARAGE", ""),
    (
        AUTO,
        "Tolls",
        "TRANSPORTATION_TOLLS",
        "4784",
        "TOLL TOLLS EZPASS E-ZPASS SUNPASS FASTRAK",
        "",
    ),
    (
        AUTO,
        "Auto Service & Repair",
        "GENERAL_SERVICES_AUTOMOTIVE",
        "7538 7531 7534 7535 7549 5532",
        "AUTO_REPAIR AUTOMOTIVE TIRE TIRES MUFFLER OIL_CHANGE LUBE COLLISION BODY_SHOP TOWING",
        "",
    ),
    (
        AUTO,
        "Auto Parts",
        "GENERAL_SERVICES_AUTOMOTIVE",
        "5531 5533 5013 5935",
        "AUTO_PARTS AUTOZONE NAPA",
        "",
    ),
    (AUTO, "Car Wash", "GENERAL_SERVICES_AUTOMOTIVE", "7542", "CAR_WASH CARWASH", ""),
    (
        AUTO,
        "Car Dealers",
        "GENERAL_SERVICES_AUTOMOTIVE",
        "5511 5521 5561 5592 5271",
        "MOTORS DEALERSHIP AUTO_SALES CHEVROLET FORD TOYOTA HONDA",
        "",
    ),
    (
        AUTO,
        "Bikes & Scooters",
        "TRANSPORTATION_BIKES_AND_SCOOTERS",
        "",
        "LIME BIRD CITI_BIKE SCOOTER BIKESHARE",
        "4789",
    ),
    (
        AUTO,
        "Other Transport",
        "TRANSPORTATION_OTHER_TRANSPORTATION",
        "4789 4119 8675",
        "TRANSPORTATION AMBULANCE AAA",
        "",
    ),
    # Bills & Utilities
    (
        BILLS,
        "Electricity & Gas",
        "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY",
        "4900",
        "ELECTRIC ENERGY POWER GAS_CO GAS_COMPANY UTILITIES EDISON",
        "",
    ),
    (BILLS, "Water", "RENT_AND_UTILITIES_WATER", "", "WATER WATER_DEPT WATER_UTILITY", "4900"),
    (
        BILLS,
        "Trash & Sewer",
        "RENT_AND_UTILITIES_SEWAGE_AND_WASTE_MANAGEMENT",
        "",
        "WASTE SANITATION SEWER TRASH DISPOSAL RECYCLING",
        "4900",
    ),
    (
        BILLS,
        "Internet & Cable",
        "RENT_AND_UTILITIES_INTERNET_AND_CABLE",
        "4899 4816",
        "CABLE INTERNET BROADBAND COMCAST XFINITY SPECTRUM FIBER",
        "",
    ),
    (
        BILLS,
        "Mobile Phone",
        "RENT_AND_UTILITIES_TELEPHONE",
        "4814 4813 4815 4821",
        "WIRELESS MOBILE CELLULAR VERIZON T-MOBILE AT&T PHONE TELECOM",
        "",
    ),
    (
        BILLS,
        "Rent",
        "RENT_AND_UTILITIES_RENT",
        "6513",
        "RENT APARTMENTS APTS PROPERTY_MANAGEMENT PROPERTY_MGMT PROP_MGMT PROP_MGM PROP_MGT "
        "PROP_MG LEASING RENTCAFE",
        "",
    ),
    (
        BILLS,
        "Subscriptions & Software",
        "GENERAL_SERVICES_OTHER_GENERAL_SERVICES",
        "",
        "SUBSCRIPTION ADOBE MICROSOFT DROPBOX GOOGLE_STORAGE ICLOUD",
        "5817 5818 7372",
    ),
    (
        BILLS,
        "Other Utilities",
        "RENT_AND_UTILITIES_OTHER_UTILITIES",
        "",
        "UTILITY UTILITY_BILL",
        "4900",
    ),
    # Home
    (
        HOME,
        "Home Improvement",
        "HOME_IMPROVEMENT_HARDWARE",
        "5200 5211 5231 5251 5072 5074 5039 5198",
        "HARDWARE HOME_DEPOT LOWES LUMBER BUILDING_SUPPLY PAINT",
        "",
    ),
    (
        HOME,
        "Furniture & Decor",
        "HOME_IMPROVEMENT_FURNITURE",
        "5712 5713 5714 5718 5719",
        "FURNITURE MATTRESS DECOR HOME_GOODS RUGS",
        "",
    ),
    (
        HOME,
        "Appliances",
        "HOME_IMPROVEMENT_OTHER_HOME_IMPROVEMENT",
        "5722",
        "APPLIANCE APPLIANCES",
        "",
    ),
    (
        HOME,
        "Lawn & Garden",
        "HOME_IMPROVEMENT_OTHER_HOME_IMPROVEMENT",
        "5261 0780 5996 8912",
        "GARDEN NURSERY LANDSCAPING LAWN POOL_SUPPLY",
        "",
    ),
    (
        HOME,
        "Home Services",
        "HOME_IMPROVEMENT_REPAIR_AND_MAINTENANCE",
        "1520 1711 1731 1740 1750 1761 1771 1799 7342 7349 7217 7622 7623 7629 7631 7641 7692 7699",
        "PLUMBING PLUMBER HVAC ROOFING ELECTRICAL CONTRACTOR PEST CLEANING MAID HANDYMAN",
        "",
    ),
    (
        HOME,
        "Home Security",
        "HOME_IMPROVEMENT_SECURITY",
        "7393",
        "SECURITY ALARM ADT SIMPLISAFE RING",
        "",
    ),
    (
        HOME,
        "Storage & Moving",
        "GENERAL_SERVICES_STORAGE",
        "4225 4214",
        "STORAGE SELF_STORAGE MOVING MOVERS U-HAUL PUBLIC_STORAGE",
        "",
    ),
    # Health
    (
        HEALTH,
        "Pharmacies",
        "MEDICAL_PHARMACIES_AND_SUPPLEMENTS",
        "5912 5122",
        "PHARMACY DRUG DRUGS RX VITAMIN SUPPLEMENTS",
        "",
    ),
    (
        HEALTH,
        "Doctors",
        "MEDICAL_PRIMARY_CARE",
        "8011 8031 8041 8049",
        "MEDICAL PHYSICIANS CLINIC URGENT_CARE PEDIATRICS FAMILY_MEDICINE CHIROPRACTIC MD",
        "",
    ),
    (
        HEALTH,
        "Dentists",
        "MEDICAL_DENTAL_CARE",
        "8021",
        "DENTAL DENTIST ORTHODONTICS DDS SMILE",
        "",
    ),
    (
        HEALTH,
        "Eye Care",
        "MEDICAL_EYE_CARE",
        "8042 8043 8044",
        "OPTICAL VISION EYE OPTOMETRY EYEWEAR",
        "",
    ),
    (
        HEALTH,
        "Hospitals",
        "MEDICAL_OTHER_MEDICAL",
        "8062 7280",
        "HOSPITAL HEALTH_SYSTEM MEDICAL_CENTER",
        "",
    ),
    (
        HEALTH,
        "Labs & Medical Services",
        "MEDICAL_OTHER_MEDICAL",
        "8071 8099 5047 5975 5976",
        "LAB LABS LABCORP QUEST_DIAGNOSTICS THERAPY HEARING",
        "",
    ),
    (
        HEALTH,
        "Nursing & Care",
        "MEDICAL_NURSING_CARE",
        "8050",
        "NURSING SENIOR_LIVING HOME_HEALTH ASSISTED_LIVING HOSPICE",
        "",
    ),
    (
        HEALTH,
        "Health Insurance",
        "GENERAL_SERVICES_INSURANCE",
        "",
        "HEALTH_INSURANCE BLUE_CROSS BCBS AETNA CIGNA HUMANA UNITEDHEALTHCARE",
        "6300",
    ),
    # Personal Care
    (
        CARE,
        "Hair & Beauty",
        "PERSONAL_CARE_HAIR_AND_BEAUTY",
        "7230 5698",
        "SALON BARBER HAIR NAILS NAIL BEAUTY LASH BROW WAX",
        "",
    ),
    (
        CARE,
        "Spas & Massage",
        "PERSONAL_CARE_OTHER_PERSONAL_CARE",
        "7297 7298",
        "SPA MASSAGE DAY_SPA",
        "",
    ),
    (
        CARE,
        "Laundry & Dry Cleaning",
        "PERSONAL_CARE_LAUNDRY_AND_DRY_CLEANING",
        "7210 7211 7216 7251 5697 7296",
        "LAUNDRY LAUNDROMAT DRY_CLEAN CLEANERS TAILOR ALTERATIONS",
        "",
    ),
    (
        CARE,
        "Personal Services",
        "PERSONAL_CARE_OTHER_PERSONAL_CARE",
        "7299 7277 7261",
        "COUNSELING FUNERAL TATTOO",
        "",
    ),
    # Pets
    (
        PETS,
        "Pet Stores",
        "GENERAL_MERCHANDISE_PET_SUPPLIES",
        "5995",
        "PET PETS PETCO PETSMART CHEWY",
        "",
    ),
    (
        PETS,
        "Veterinary",
        "MEDICAL_VETERINARY_SERVICES",
        "0742",
        "VET VETERINARY ANIMAL_HOSPITAL ANIMAL_CLINIC",
        "",
    ),
    (
        PETS,
        "Pet Services",
        "PERSONAL_CARE_OTHER_PERSONAL_CARE",
        "",
        "GROOMING DOG_WALKING KENNEL BOARDING ROVER",
        "0742 7299",
    ),
    # Kids & Family
    (
        KIDS,
        "Childcare",
        "GENERAL_SERVICES_CHILDCARE",
        "8351 7295",
        "DAYCARE CHILDCARE CHILD_CARE PRESCHOOL NANNY BABYSITTER",
        "",
    ),
    (
        KIDS,
        "Toys",
        "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
        "",
        "TOYS TOY LEGO BUILD-A-BEAR",
        "5945",
    ),
    (
        KIDS,
        "Baby & Kids Clothing",
        "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES",
        "",
        "BABY KIDS CHILDREN CARTERS",
        "5641",
    ),
    (
        KIDS,
        "Camps & Activities",
        "GENERAL_SERVICES_CHILDCARE",
        "",
        "CAMP SUMMER_CAMP KIDS_CLUB",
        "7032",
    ),
    # Education
    (EDU, "Tuition", "GENERAL_SERVICES_EDUCATION", "8220", "UNIVERSITY COLLEGE TUITION BURSAR", ""),
    (
        EDU,
        "Schools",
        "GENERAL_SERVICES_EDUCATION",
        "8211 8244 8249 8241",
        "SCHOOL ACADEMY SCHOOLS DISTRICT ISD",
        "",
    ),
    (
        EDU,
        "Education Services",
        "GENERAL_SERVICES_EDUCATION",
        "8299",
        "TUTORING LEARNING COURSE COURSERA UDEMY DUOLINGO MASTERCLASS",
        "",
    ),
    (
        EDU,
        "Books & Supplies",
        "GENERAL_SERVICES_EDUCATION",
        "",
        "TEXTBOOK CHEGG CAMPUS_STORE",
        "5942 5943",
    ),
    # Business Services
    (
        BIZ,
        "Shipping & Postage",
        "GENERAL_SERVICES_POSTAGE_AND_SHIPPING",
        "4215 9402",
        "USPS UPS FEDEX DHL POSTAGE SHIPPING POST_OFFICE STAMPS",
        "",
    ),
    (
        BIZ,
        "Printing & Copying",
        "GENERAL_SERVICES_OTHER_GENERAL_SERVICES",
        "7332 7338 2791 7339",
        "PRINT PRINTING COPY COPIES KINKOS",
        "",
    ),
    (
        BIZ,
        "Legal Services",
        "GENERAL_SERVICES_CONSULTING_AND_LEGAL",
        "8111",
        "LAW LEGAL ATTORNEY ATTORNEYS LAWYER LEGALZOOM",
        "",
    ),
    (
        BIZ,
        "Accounting & Tax Prep",
        "GENERAL_SERVICES_ACCOUNTING_AND_FINANCIAL_PLANNING",
        "8931 7276",
        "TAX_PREP CPA ACCOUNTING BOOKKEEPING H&R_BLOCK TURBOTAX INTUIT",
        "",
    ),
    (
        BIZ,
        "Professional Services",
        "GENERAL_SERVICES_CONSULTING_AND_LEGAL",
        "7392 8911 8999 7311 7361 8734 7375 7379 7379 7321 7322 0763",
        "CONSULTING SERVICES STAFFING MARKETING ARCHITECTS ENGINEERING",
        "",
    ),
    (
        BIZ,
        "Web & Hosting",
        "GENERAL_SERVICES_OTHER_GENERAL_SERVICES",
        "7372",
        "HOSTING DOMAIN GODADDY SQUARESPACE WIX AWS SHOPIFY",
        "",
    ),
    (
        BIZ,
        "Equipment Rental",
        "GENERAL_SERVICES_OTHER_GENERAL_SERVICES",
        "7394",
        "RENTAL EQUIPMENT_RENTAL TOOL_RENTAL",
        "",
    ),
    (
        BIZ,
        "Business Services",
        "GENERAL_SERVICES_OTHER_GENERAL_SERVICES",
        "7399 7278 9950 9700 9701 9702 9405",
        "BUSINESS_SERVICES",
        "",
    ),
    # Gifts & Donations
    (
        GIFTS,
        "Charity",
        "GOVERNMENT_AND_NON_PROFIT_DONATIONS",
        "8398",
        "DONATION DONATE CHARITY FOUNDATION RED_CROSS UNITED_WAY GOFUNDME",
        "",
    ),
    (
        GIFTS,
        "Religious Organizations",
        "GOVERNMENT_AND_NON_PROFIT_DONATIONS",
        "8661",
        "CHURCH PARISH MINISTRIES TEMPLE MOSQUE SYNAGOGUE TITHE TITHELY",
        "",
    ),
    (
        GIFTS,
        "Political & Civic",
        "GOVERNMENT_AND_NON_PROFIT_OTHER_GOVERNMENT_AND_NON_PROFIT",
        "8651 8641 8699",
        "ACTBLUE WINRED CAMPAIGN ASSOCIATION ASSN LODGE",
        "",
    ),
    (
        GIFTS,
        "Gift Cards",
        "GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES",
        "6540",
        "GIFT_CARD GIFTCARD",
        "",
    ),
    # Government & Taxes
    (
        GOV,
        "Taxes",
        "GOVERNMENT_AND_NON_PROFIT_TAX_PAYMENT",
        "9311",
        "IRS TAX TAXES USATAXPYMT TREASURY FRANCHISE_TAX COMPTROLLER DEPT_OF_REVENUE",
        "",
    ),
    (
        GOV,
        "Motor Vehicles & Licenses",
        "GOVERNMENT_AND_NON_PROFIT_GOVERNMENT_DEPARTMENTS_AND_AGENCIES",
        "",
        "DMV BMV MVD MOTOR_VEHICLE REGISTRATION LICENSE SECRETARY_OF_STATE",
        "9399",
    ),
    (
        GOV,
        "Courts & Fines",
        "GOVERNMENT_AND_NON_PROFIT_GOVERNMENT_DEPARTMENTS_AND_AGENCIES",
        "9211 9222 9223",
        "COURT COURTS FINE FINES CITATION TICKET BAIL CHILD_SUPPORT",
        "",
    ),
    (
        GOV,
        "Government Services",
        "GOVERNMENT_AND_NON_PROFIT_GOVERNMENT_DEPARTMENTS_AND_AGENCIES",
        "9399 9400",
        "CITY_OF COUNTY STATE_OF DEPT DEPARTMENT GOVERNMENT GOV PERMIT PASSPORT",
        "",
    ),
    # Financial
    (
        FIN,
        "Mortgage Payment",
        "LOAN_PAYMENTS_MORTGAGE_PAYMENT",
        "",
        "MORTGAGE MTG MORTG HOME_LOAN HOME_LN LOAN_SERVICING",
        "6012",
    ),
    (
        FIN,
        "Home Equity Payment",
        "LOAN_PAYMENTS_OTHER_PAYMENT",
        "",
        "HELOC HOME_EQUITY EQUITY_LINE",
        "6012",
    ),
    (
        FIN,
        "Credit Card Payment",
        "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
        "",
        "CREDIT_CARD CRD_PMT CARD_PYMT CARDMEMBER EPAY PAYMENT_THANK_YOU",
        "6012",
    ),
    (
        FIN,
        "Auto Loan Payment",
        "LOAN_PAYMENTS_CAR_PAYMENT",
        "",
        "AUTO_LOAN CAR_LOAN AUTO_FINANCE MOTOR_CREDIT DEALER_SVCS CARPAY",
        "6012",
    ),
    (
        FIN,
        "Student Loan Payment",
        "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT",
        "",
        "STUDENT_LOAN STUDENT_LN STUDNT DEPT_EDUCATION NAVIENT NELNET MOHELA",
        "6012",
    ),
    (
        FIN,
        "Personal Loan Payment",
        "LOAN_PAYMENTS_PERSONAL_LOAN_PAYMENT",
        "",
        "LOAN LN_PMT PERSONAL_LOAN INSTALLMENT LENDING",
        "6012",
    ),
    (
        FIN,
        "Buy Now Pay Later",
        "LOAN_PAYMENTS_PERSONAL_LOAN_PAYMENT",
        "",
        "AFFIRM KLARNA AFTERPAY SEZZLE ZIP PAY_IN_4",
        "6012",
    ),
    (
        FIN,
        "Payday & Cash Advance",
        "LOAN_PAYMENTS_CASH_ADVANCES",
        "",
        "CASH_ADVANCE PAYDAY TITLE_LOAN ADVANCE",
        "6012",
    ),
    (
        FIN,
        "Earned Wage Access",
        "LOAN_PAYMENTS_EWA",
        "",
        "EARNIN DAVE BRIGIT EWA INSTANT_PAY",
        "6012",
    ),
    (
        FIN,
        "Investment",
        "TRANSFER_OUT_INVESTMENT_AND_RETIREMENT_FUNDS",
        "6211",
        "INVESTMENT BROKERAGE SECURITIES FUNDS IRA 401K SCHWAB FIDELITY VANGUARD ROBINHOOD",
        "",
    ),
    (
        FIN,
        "Crypto",
        "TRANSFER_OUT_INVESTMENT_AND_RETIREMENT_FUNDS",
        "",
        "CRYPTO BITCOIN COINBASE KRAKEN GEMINI BINANCE",
        "6051",
    ),
    (
        FIN,
        "Insurance",
        "GENERAL_SERVICES_INSURANCE",
        "6300 6381 6399 5960",
        "INSURANCE INS INSUR INS_PREM PREMIUM MUTUAL CASUALTY ASSURANCE",
        "",
    ),
    (
        FIN,
        "Financial Services",
        "GENERAL_SERVICES_ACCOUNTING_AND_FINANCIAL_PLANNING",
        "6012 6050 6532 6533 7013",
        "FINANCIAL FINANCE CREDIT_UNION BANK REAL_ESTATE ESCROW TITLE",
        "",
    ),
    (
        FIN,
        "Money Orders & Wires",
        "TRANSFER_OUT_WIRE",
        "4829 6051",
        "WIRE MONEY_ORDER WESTERN_UNION MONEYGRAM REMITLY WISE",
        "",
    ),
    # Transfers
    (
        XFER,
        "P2P Payment",
        "TRANSFER_OUT_ACCOUNT_TRANSFER",
        "6536 6537 6538",
        "ZELLE VENMO CASH_APP SQUARE_CASH PAYPAL APPLE_CASH P2P",
        "",
    ),
    (XFER, "P2P Received", "TRANSFER_IN_ACCOUNT_TRANSFER", "", "ZELLE_FROM VENMO_CASHOUT", ""),
    (
        XFER,
        "Own-Account Transfer",
        "TRANSFER_OUT_ACCOUNT_TRANSFER",
        "",
        "TRANSFER XFER ONLINE_TRANSFER INTERNET_TRANSFER TO_SAVINGS TO_CHECKING SHARE_TRANSFER",
        "",
    ),
    (XFER, "Savings Transfer", "TRANSFER_OUT_SAVINGS", "", "SAVINGS TO_SAV", ""),
    (XFER, "Wire Transfer", "TRANSFER_OUT_WIRE", "", "WIRE_OUT WIRE_TRANSFER OUTGOING_WIRE", ""),
    (
        XFER,
        "Incoming Transfer",
        "TRANSFER_IN_ACCOUNT_TRANSFER",
        "",
        "TRANSFER_FROM XFER_FROM INCOMING_WIRE WIRE_IN",
        "",
    ),
    # Fees
    (
        FEES,
        "Bank Fees",
        "BANK_FEES_OTHER_BANK_FEES",
        "",
        "FEE SERVICE_CHARGE MAINTENANCE_FEE MONTHLY_FEE",
        "",
    ),
    (
        FEES,
        "Overdraft & NSF Fees",
        "BANK_FEES_OVERDRAFT_FEES",
        "",
        "OVERDRAFT OD_FEE NSF INSUFFICIENT RETURNED_ITEM",
        "",
    ),
    (FEES, "ATM Fees", "BANK_FEES_ATM_FEES", "", "ATM_FEE NON-NETWORK_ATM ATM_SURCHARGE", ""),
    (
        FEES,
        "Foreign Transaction Fees",
        "BANK_FEES_FOREIGN_TRANSACTION_FEES",
        "",
        "FOREIGN_TRANSACTION_FEE INTL_TRANSACTION_FEE FOREIGN_TRANS_FEE FX_FEE",
        "",
    ),
    (
        FEES,
        "Interest Charges",
        "BANK_FEES_INTEREST_CHARGE",
        "",
        "INTEREST_CHARGE FINANCE_CHARGE PURCHASE_INTEREST",
        "",
    ),
    (FEES, "Late Fees", "BANK_FEES_LATE_FEES", "", "LATE_FEE LATE_PAYMENT_FEE", ""),
    # Cash
    (
        CASH,
        "ATM Withdrawal",
        "TRANSFER_OUT_WITHDRAWAL",
        "6011",
        "ATM WITHDRAWAL ATM_WITHDRAWAL CASH_WITHDRAWAL",
        "",
    ),
    (
        CASH,
        "Cash Withdrawal",
        "TRANSFER_OUT_WITHDRAWAL",
        "6010",
        "TELLER_WITHDRAWAL COUNTER_WITHDRAWAL CASH",
        "",
    ),
    (
        CASH,
        "Cash Deposit",
        "TRANSFER_IN_DEPOSIT",
        "",
        "DEPOSIT ATM_DEPOSIT CASH_DEPOSIT BRANCH_DEPOSIT",
        "",
    ),
    # Checks
    (CHECKS, "Check Payment", "TRANSFER_OUT_OTHER_TRANSFER_OUT", "", "CHECK CHK CHECK_PAID", ""),
    (
        CHECKS,
        "Check Deposit",
        "TRANSFER_IN_DEPOSIT",
        "",
        "CHECK_DEPOSIT MOBILE_DEPOSIT REMOTE_DEPOSIT",
        "",
    ),
    # Income
    (
        INCOME,
        "Payroll",
        "INCOME_SALARY",
        "",
        "PAYROLL PAYRLL DIR_DEP DIRECT_DEPOSIT SALARY WAGES PAYCHECK",
        "",
    ),
    (INCOME, "Gig Income", "INCOME_GIG_ECONOMY", "", "DRIVER_PAY EARNINGS INSTANT_PAYOUT", ""),
    (
        INCOME,
        "Interest",
        "INCOME_INTEREST_EARNED",
        "",
        "INTEREST INTEREST_PAID DIVIDEND_EARNED INT_PAID",
        "",
    ),
    (INCOME, "Dividends", "INCOME_DIVIDENDS", "", "DIVIDEND DIV", ""),
    (
        INCOME,
        "Refunds",
        "TRANSFER_IN_OTHER_TRANSFER_IN",
        "",
        "REFUND RETURN REVERSAL CREDIT_ADJUSTMENT CHARGEBACK",
        "",
    ),
    (INCOME, "Tax Refund", "INCOME_TAX_REFUND", "", "TAX_REFUND TAX_REF IRS_TREAS_310", ""),
    (
        INCOME,
        "Government Benefits",
        "INCOME_OTHER",
        "",
        "SSA SOC_SEC SSI VA_BENEFIT BENEFITS TREAS_310",
        "",
    ),
    (INCOME, "Unemployment", "INCOME_UNEMPLOYMENT", "", "UNEMPLOYMENT UI_BENEFITS DES_BENEFIT", ""),
    (
        INCOME,
        "Retirement Income",
        "INCOME_RETIREMENT_PENSION",
        "",
        "PENSION ANNUITY RETIREMENT RETIREMENT_PMT",
        "",
    ),
    (
        INCOME,
        "Loan Proceeds",
        "LOAN_DISBURSEMENTS_OTHER_DISBURSEMENT",
        "",
        "LOAN_PROCEEDS DISBURSEMENT LOAN_DEPOSIT",
        "",
    ),
    (INCOME, "Other Income", "INCOME_OTHER", "", "INCOME REBATE CASHBACK REWARDS BONUS", ""),
    # Uncategorized
    (OTHER, "Uncategorized", "OTHER_OTHER", "", "", ""),
)


def _build() -> tuple[Category, ...]:
    out: list[Category] = []
    for group, name, pfc, owned, keywords, also in _SPECS:
        owned_t = tuple(dict.fromkeys(owned.split()))
        also_t = tuple(code for code in dict.fromkeys(also.split()) if code not in owned_t)
        out.append(
            Category(
                category_group=group,
                category=name,
                mccs=owned_t + also_t,
                pfc_primary=_primary_of(pfc),
                pfc_detailed=pfc,
                keywords=tuple(k.replace("_", " ") for k in keywords.split()),
                owned_mccs=owned_t,
            )
        )
    return tuple(out)


CATEGORIES: tuple[Category, ...] = _build()
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(c.category_group for c in CATEGORIES))
UNCATEGORIZED: Category = CATEGORIES[-1]

MCC_RANGES: tuple[tuple[int, int, str, str], ...] = (
    (3000, 3350, TRAVEL, "Airlines"),
    (3351, 3500, TRAVEL, "Car Rental"),
    (3501, 3999, TRAVEL, "Hotels"),
)


@functools.cache
def _by_name() -> dict[tuple[str, str], Category]:
    return {(c.category_group, c.category): c for c in CATEGORIES}


@functools.cache
def _owner_of_mcc() -> dict[str, Category]:
    owners: dict[str, Category] = {}
    for cat in CATEGORIES:
        for code in cat.owned_mccs:
            if code in owners:
                raise RuntimeError(
                    f"MCC {code} is owned by both {owners[code].category!r} and {cat.category!r}"
                )
            owners[code] = cat
    return owners


def find_category(category_group: str, category: str) -> Category | None:
    return _by_name().get((category_group, category))


def category_for_mcc(mcc: str) -> Category | None:
    """The category owning a 4-digit MCC (private airline/car/lodging ranges included)."""
    code = mcc.strip()
    if not (len(code) == 4 and code.isdigit()):
        return None
    owner = _owner_of_mcc().get(code)
    if owner is not None:
        return owner
    number = int(code)
    for start, end, group, name in MCC_RANGES:
        if start <= number <= end:
            return _by_name()[(group, name)]
    return None
