"""Build Sightline's merchant and institution directory (``src/sightline/data/``).

Sources (see ``src/sightline/data/SOURCES.md``):

* the npm package ``name-suggestion-index`` (BSD-3-Clause), pinned to ``NSI_VERSION`` and fetched
  with ``npm pack`` unless ``--nsi`` points at a tarball or an unpacked package;
* the PyPI package ``iso18245`` (MIT) for MCC codes and descriptions;
* our curated lists in ``tools/curated/*.yaml``.

The output is deterministic: the same inputs produce byte-identical files.

    .venv/bin/python tools/build_merchant_directory.py                 # fetch NSI, write data
    .venv/bin/python tools/build_merchant_directory.py --nsi /tmp/nsi.tgz --out /tmp/dir
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sightline.enrich import categories as taxonomy  # noqa: E402
from sightline.enrich.directory import (  # noqa: E402
    FI_PRODUCTS,
    INSTITUTION_COLUMNS,
    MERCHANT_COLUMNS,
)

NSI_PACKAGE = "name-suggestion-index"
NSI_VERSION = "8.0.20260918"
CURATED_DIR = Path(__file__).resolve().parent / "curated"
DEFAULT_OUT = ROOT / "src" / "sightline" / "data"
# The packaged copy is refreshed from the shared reference when it sits next to the repository.
PFC_SOURCE = ROOT.parent / "shared" / "reference" / "plaid_pfc_v2.tsv"

# --------------------------------------------------------------------------------------------
# OSM tag → Sightline category.  Keys are "<key>/<value>" as in NSI paths ("amenity/cafe").

G = taxonomy
OSM_CATEGORY: dict[str, tuple[str, str]] = {
    "amenity/cafe": (G.FOOD, "Coffee Shops"),
    "shop/coffee": (G.FOOD, "Coffee Shops"),
    "amenity/fast_food": (G.FOOD, "Fast Food"),
    "amenity/food_court": (G.FOOD, "Fast Food"),
    "amenity/restaurant": (G.FOOD, "Restaurants"),
    "amenity/bar": (G.FOOD, "Bars & Nightlife"),
    "amenity/pub": (G.FOOD, "Bars & Nightlife"),
    "amenity/biergarten": (G.FOOD, "Bars & Nightlife"),
    "amenity/nightclub": (G.FOOD, "Bars & Nightlife"),
    "craft/brewery": (G.FOOD, "Bars & Nightlife"),
    "amenity/ice_cream": (G.FOOD, "Bakeries & Desserts"),
    "shop/bakery": (G.FOOD, "Bakeries & Desserts"),
    "shop/pastry": (G.FOOD, "Bakeries & Desserts"),
    "shop/confectionery": (G.FOOD, "Bakeries & Desserts"),
    "shop/chocolate": (G.FOOD, "Bakeries & Desserts"),
    "shop/supermarket": (G.FOOD, "Groceries"),
    "shop/greengrocer": (G.FOOD, "Groceries"),
    "shop/frozen_food": (G.FOOD, "Groceries"),
    "shop/dairy": (G.FOOD, "Groceries"),
    "shop/butcher": (G.FOOD, "Specialty Food"),
    "shop/deli": (G.FOOD, "Specialty Food"),
    "shop/seafood": (G.FOOD, "Specialty Food"),
    "shop/tea": (G.FOOD, "Specialty Food"),
    "shop/spices": (G.FOOD, "Specialty Food"),
    "shop/beverages": (G.FOOD, "Specialty Food"),
    "shop/health_food": (G.FOOD, "Specialty Food"),
    "shop/nutrition_supplements": (G.HEALTH, "Pharmacies"),
    "shop/herbalist": (G.HEALTH, "Pharmacies"),
    "shop/alcohol": (G.FOOD, "Liquor Stores"),
    "shop/wine": (G.FOOD, "Liquor Stores"),
    "amenity/vending_machine": (G.FOOD, "Vending Machines"),
    "shop/convenience": (G.SHOP, "Convenience Stores"),
    "shop/kiosk": (G.SHOP, "Convenience Stores"),
    "shop/country_store": (G.SHOP, "General Merchandise"),
    "shop/wholesale": (G.SHOP, "Superstores"),
    "shop/department_store": (G.SHOP, "Department Stores"),
    "shop/variety_store": (G.SHOP, "Discount Stores"),
    "shop/mall": (G.SHOP, "General Merchandise"),
    "shop/general": (G.SHOP, "General Merchandise"),
    "shop/clothes": (G.SHOP, "Clothing"),
    "shop/fashion_accessories": (G.SHOP, "Jewelry & Accessories"),
    "shop/bag": (G.SHOP, "Jewelry & Accessories"),
    "shop/leather": (G.SHOP, "Jewelry & Accessories"),
    "shop/jewelry": (G.SHOP, "Jewelry & Accessories"),
    "shop/watches": (G.SHOP, "Jewelry & Accessories"),
    "shop/shoes": (G.SHOP, "Shoes"),
    "shop/electronics": (G.SHOP, "Electronics"),
    "shop/computer": (G.SHOP, "Electronics"),
    "shop/hifi": (G.SHOP, "Electronics"),
    "shop/camera": (G.SHOP, "Electronics"),
    "shop/mobile_phone": (G.BILLS, "Mobile Phone"),
    "shop/telecommunication": (G.BILLS, "Mobile Phone"),
    "office/telecommunication": (G.BILLS, "Internet & Cable"),
    "shop/printer_ink": (G.SHOP, "Office Supplies"),
    "shop/stationery": (G.SHOP, "Office Supplies"),
    "shop/books": (G.SHOP, "Books & News"),
    "shop/newsagent": (G.SHOP, "Books & News"),
    "shop/sports": (G.SHOP, "Sporting Goods"),
    "shop/outdoor": (G.SHOP, "Sporting Goods"),
    "shop/bicycle": (G.SHOP, "Sporting Goods"),
    "shop/boat": (G.SHOP, "Sporting Goods"),
    "shop/fishing": (G.SHOP, "Sporting Goods"),
    "shop/hunting": (G.SHOP, "Sporting Goods"),
    "shop/weapons": (G.SHOP, "Sporting Goods"),
    "shop/golf": (G.SHOP, "Sporting Goods"),
    "shop/craft": (G.SHOP, "Hobbies & Crafts"),
    "shop/fabric": (G.SHOP, "Hobbies & Crafts"),
    "shop/art": (G.SHOP, "Hobbies & Crafts"),
    "shop/frame": (G.SHOP, "Hobbies & Crafts"),
    "shop/music": (G.SHOP, "Hobbies & Crafts"),
    "shop/musical_instrument": (G.SHOP, "Hobbies & Crafts"),
    "shop/games": (G.SHOP, "Hobbies & Crafts"),
    "shop/model": (G.SHOP, "Hobbies & Crafts"),
    "shop/video_games": (G.ENT, "Video Games"),
    "shop/video": (G.ENT, "Streaming Video"),
    "shop/toys": (G.KIDS, "Toys"),
    "shop/baby_goods": (G.KIDS, "Baby & Kids Clothing"),
    "shop/cosmetics": (G.SHOP, "Beauty Products"),
    "shop/perfumery": (G.SHOP, "Beauty Products"),
    "shop/beauty": (G.CARE, "Hair & Beauty"),
    "shop/hairdresser": (G.CARE, "Hair & Beauty"),
    "shop/hairdresser_supply": (G.SHOP, "Beauty Products"),
    "shop/massage": (G.CARE, "Spas & Massage"),
    "shop/tattoo": (G.CARE, "Personal Services"),
    "shop/laundry": (G.CARE, "Laundry & Dry Cleaning"),
    "shop/dry_cleaning": (G.CARE, "Laundry & Dry Cleaning"),
    "craft/cleaning": (G.HOME, "Home Services"),
    "shop/tobacco": (G.SHOP, "Tobacco & Vape"),
    "shop/e-cigarette": (G.SHOP, "Tobacco & Vape"),
    "shop/cannabis": (G.SHOP, "Tobacco & Vape"),
    "shop/second_hand": (G.SHOP, "Second-Hand & Pawn"),
    "shop/charity": (G.SHOP, "Second-Hand & Pawn"),
    "shop/pawnbroker": (G.SHOP, "Second-Hand & Pawn"),
    "shop/antiques": (G.SHOP, "Second-Hand & Pawn"),
    "shop/gift": (G.SHOP, "Gift Shops"),
    "shop/party": (G.SHOP, "Gift Shops"),
    "shop/candles": (G.SHOP, "Gift Shops"),
    "shop/pyrotechnics": (G.SHOP, "Gift Shops"),
    "shop/florist": (G.SHOP, "Florists"),
    "shop/erotic": (G.SHOP, "Adult Stores"),
    "shop/trade": (G.HOME, "Home Improvement"),
    "shop/doityourself": (G.HOME, "Home Improvement"),
    "shop/hardware": (G.HOME, "Home Improvement"),
    "shop/paint": (G.HOME, "Home Improvement"),
    "shop/tiles": (G.HOME, "Home Improvement"),
    "shop/flooring": (G.HOME, "Furniture & Decor"),
    "shop/carpet": (G.HOME, "Furniture & Decor"),
    "shop/electrical": (G.HOME, "Home Improvement"),
    "shop/power_tools": (G.HOME, "Home Improvement"),
    "shop/locksmith": (G.HOME, "Home Services"),
    "shop/glaziery": (G.HOME, "Home Services"),
    "shop/furniture": (G.HOME, "Furniture & Decor"),
    "shop/bed": (G.HOME, "Furniture & Decor"),
    "shop/interior_decoration": (G.HOME, "Furniture & Decor"),
    "shop/houseware": (G.HOME, "Furniture & Decor"),
    "shop/kitchen": (G.HOME, "Furniture & Decor"),
    "shop/lighting": (G.HOME, "Furniture & Decor"),
    "shop/window_blind": (G.HOME, "Furniture & Decor"),
    "shop/bathroom_furnishing": (G.HOME, "Furniture & Decor"),
    "shop/curtain": (G.HOME, "Furniture & Decor"),
    "shop/appliance": (G.HOME, "Appliances"),
    "shop/vacuum_cleaner": (G.HOME, "Appliances"),
    "shop/garden_centre": (G.HOME, "Lawn & Garden"),
    "shop/agrarian": (G.HOME, "Lawn & Garden"),
    "shop/groundskeeping": (G.HOME, "Lawn & Garden"),
    "shop/swimming_pool": (G.HOME, "Lawn & Garden"),
    "shop/pest_control": (G.HOME, "Home Services"),
    "shop/storage_rental": (G.HOME, "Storage & Moving"),
    "office/moving_company": (G.HOME, "Storage & Moving"),
    "office/security": (G.HOME, "Home Security"),
    "craft/electrician": (G.HOME, "Home Services"),
    "craft/plumber": (G.HOME, "Home Services"),
    "craft/hvac": (G.HOME, "Home Services"),
    "craft/painter": (G.HOME, "Home Services"),
    "craft/glaziery": (G.HOME, "Home Services"),
    "craft/roofer": (G.HOME, "Home Services"),
    "craft/electronics_repair": (G.HOME, "Home Services"),
    "shop/repair": (G.HOME, "Home Services"),
    "shop/pet": (G.PETS, "Pet Stores"),
    "shop/pet_grooming": (G.PETS, "Pet Services"),
    "amenity/animal_boarding": (G.PETS, "Pet Services"),
    "amenity/veterinary": (G.PETS, "Veterinary"),
    "amenity/pharmacy": (G.HEALTH, "Pharmacies"),
    "shop/chemist": (G.HEALTH, "Pharmacies"),
    "shop/medical_supply": (G.HEALTH, "Labs & Medical Services"),
    "shop/hearing_aids": (G.HEALTH, "Labs & Medical Services"),
    "shop/optician": (G.HEALTH, "Eye Care"),
    "amenity/clinic": (G.HEALTH, "Doctors"),
    "amenity/doctors": (G.HEALTH, "Doctors"),
    "amenity/dentist": (G.HEALTH, "Dentists"),
    "amenity/hospital": (G.HEALTH, "Hospitals"),
    "healthcare/laboratory": (G.HEALTH, "Labs & Medical Services"),
    "healthcare/blood_donation": (G.HEALTH, "Labs & Medical Services"),
    "healthcare/physiotherapist": (G.HEALTH, "Labs & Medical Services"),
    "healthcare/counselling": (G.CARE, "Personal Services"),
    "healthcare/alternative": (G.HEALTH, "Labs & Medical Services"),
    "healthcare/dialysis": (G.HEALTH, "Labs & Medical Services"),
    "amenity/social_facility": (G.HEALTH, "Nursing & Care"),
    "amenity/fuel": (G.AUTO, "Gas Stations"),
    "shop/gas": (G.AUTO, "Gas Stations"),
    "highway/services": (G.AUTO, "Gas Stations"),
    "amenity/charging_station": (G.AUTO, "EV Charging"),
    "man_made/charge_point": (G.AUTO, "EV Charging"),
    "amenity/car_wash": (G.AUTO, "Car Wash"),
    "shop/car_repair": (G.AUTO, "Auto Service & Repair"),
    "shop/tyres": (G.AUTO, "Auto Service & Repair"),
    "shop/truck_repair": (G.AUTO, "Auto Service & Repair"),
    "shop/motorcycle_repair": (G.AUTO, "Auto Service & Repair"),
    "shop/car_parts": (G.AUTO, "Auto Parts"),
    "shop/car": (G.AUTO, "Car Dealers"),
    "shop/truck": (G.AUTO, "Car Dealers"),
    "shop/motorcycle": (G.AUTO, "Car Dealers"),
    "shop/caravan": (G.AUTO, "Car Dealers"),
    "amenity/bicycle_rental": (G.AUTO, "Bikes & Scooters"),
    "amenity/motorcycle_rental": (G.TRAVEL, "Car Rental"),
    "amenity/car_rental": (G.TRAVEL, "Car Rental"),
    "amenity/car_sharing": (G.TRAVEL, "Car Rental"),
    "shop/rental": (G.BIZ, "Equipment Rental"),
    "shop/plant_hire": (G.BIZ, "Equipment Rental"),
    "amenity/parking": (G.AUTO, "Parking"),
    "highway/toll_gantry": (G.AUTO, "Tolls"),
    "tourism/hotel": (G.TRAVEL, "Hotels"),
    "tourism/motel": (G.TRAVEL, "Hotels"),
    "tourism/hostel": (G.TRAVEL, "Hotels"),
    "tourism/guest_house": (G.TRAVEL, "Hotels"),
    "tourism/apartment": (G.TRAVEL, "Hotels"),
    "tourism/caravan_site": (G.TRAVEL, "Hotels"),
    "tourism/camp_site": (G.SPORT, "Outdoor Recreation"),
    "shop/travel_agency": (G.TRAVEL, "Travel Agencies"),
    "tourism/theme_park": (G.ENT, "Amusement Parks"),
    "tourism/zoo": (G.ENT, "Museums & Attractions"),
    "tourism/aquarium": (G.ENT, "Museums & Attractions"),
    "tourism/museum": (G.ENT, "Museums & Attractions"),
    "amenity/cinema": (G.ENT, "Movie Theaters"),
    "amenity/casino": (G.ENT, "Gambling & Lottery"),
    "leisure/adult_gaming_centre": (G.ENT, "Gambling & Lottery"),
    "leisure/amusement_arcade": (G.ENT, "Arcades"),
    "leisure/bowling_alley": (G.ENT, "Bowling"),
    "leisure/miniature_golf": (G.ENT, "Miniature Golf"),
    "leisure/escape_game": (G.ENT, "Recreation"),
    "leisure/trampoline_park": (G.ENT, "Recreation"),
    "leisure/indoor_play": (G.KIDS, "Camps & Activities"),
    "leisure/high_ropes_course": (G.ENT, "Recreation"),
    "leisure/dance": (G.ENT, "Recreation"),
    "leisure/fitness_centre": (G.SPORT, "Gyms & Fitness"),
    "leisure/fitness_station": (G.SPORT, "Gyms & Fitness"),
    "leisure/sports_centre": (G.SPORT, "Gyms & Fitness"),
    "leisure/golf_course": (G.SPORT, "Golf"),
    "leisure/park": (G.SPORT, "Outdoor Recreation"),
    "leisure/nature_reserve": (G.SPORT, "Outdoor Recreation"),
    "boundary/national_park": (G.SPORT, "Outdoor Recreation"),
    "amenity/childcare": (G.KIDS, "Childcare"),
    "amenity/kindergarten": (G.KIDS, "Childcare"),
    "amenity/prep_school": (G.EDU, "Education Services"),
    "amenity/training": (G.EDU, "Education Services"),
    "amenity/language_school": (G.EDU, "Education Services"),
    "amenity/music_school": (G.EDU, "Education Services"),
    "amenity/driving_school": (G.EDU, "Education Services"),
    "amenity/school": (G.EDU, "Schools"),
    "amenity/college": (G.EDU, "Tuition"),
    "amenity/university": (G.EDU, "Tuition"),
    "amenity/post_office": (G.BIZ, "Shipping & Postage"),
    "amenity/post_depot": (G.BIZ, "Shipping & Postage"),
    "amenity/parcel_locker": (G.BIZ, "Shipping & Postage"),
    "office/logistics": (G.BIZ, "Shipping & Postage"),
    "shop/copyshop": (G.BIZ, "Printing & Copying"),
    "craft/signmaker": (G.BIZ, "Printing & Copying"),
    "shop/photo": (G.ENT, "Photography & Art"),
    "office/lawyer": (G.BIZ, "Legal Services"),
    "office/bail_bond_agent": (G.GOV, "Courts & Fines"),
    "office/tax_advisor": (G.BIZ, "Accounting & Tax Prep"),
    "office/accountant": (G.BIZ, "Accounting & Tax Prep"),
    "office/consulting": (G.BIZ, "Professional Services"),
    "office/employment_agency": (G.BIZ, "Professional Services"),
    "office/engineer": (G.BIZ, "Professional Services"),
    "office/it": (G.BIZ, "Web & Hosting"),
    "office/coworking": (G.BIZ, "Business Services"),
    "office/company": (G.BIZ, "Business Services"),
    "office/construction_company": (G.HOME, "Home Services"),
    "office/estate_agent": (G.FIN, "Financial Services"),
    "office/financial": (G.FIN, "Financial Services"),
    "amenity/money_transfer": (G.FIN, "Money Orders & Wires"),
    "amenity/bureau_de_change": (G.FIN, "Money Orders & Wires"),
    "amenity/payment_terminal": (G.FIN, "Money Orders & Wires"),
    "amenity/social_centre": (G.GIFTS, "Political & Civic"),
    "office/association": (G.GIFTS, "Political & Civic"),
    "club/freemasonry": (G.GIFTS, "Political & Civic"),
    "club/scout": (G.KIDS, "Camps & Activities"),
    "office/government": (G.GOV, "Government Services"),
    "amenity/courthouse": (G.GOV, "Courts & Fines"),
    "amenity/recycling": (G.BILLS, "Trash & Sewer"),
    "amenity/waste_disposal": (G.BILLS, "Trash & Sewer"),
    "amenity/waste_transfer_station": (G.BILLS, "Trash & Sewer"),
    "landuse/landfill": (G.BILLS, "Trash & Sewer"),
    "man_made/wastewater_plant": (G.BILLS, "Trash & Sewer"),
    "man_made/water_works": (G.BILLS, "Water"),
    "man_made/water_tower": (G.BILLS, "Water"),
    "office/water_utility": (G.BILLS, "Water"),
    "office/energy_supplier": (G.BILLS, "Electricity & Gas"),
    "power/plant": (G.BILLS, "Electricity & Gas"),
    "power/generator": (G.BILLS, "Electricity & Gas"),
    "power/line": (G.BILLS, "Electricity & Gas"),
    "power/minor_line": (G.BILLS, "Electricity & Gas"),
    "power/substation": (G.BILLS, "Electricity & Gas"),
    "telecom/exchange": (G.BILLS, "Internet & Cable"),
    "telecom/data_center": (G.BIZ, "Web & Hosting"),
}

# cuisine=* refines restaurants and fast food.
CUISINE_CATEGORY: dict[str, tuple[str, str]] = {
    "coffee_shop": (G.FOOD, "Coffee Shops"),
    "pizza": (G.FOOD, "Pizza"),
    "sushi": (G.FOOD, "Sushi & Asian"),
    "japanese": (G.FOOD, "Sushi & Asian"),
    "chinese": (G.FOOD, "Sushi & Asian"),
    "thai": (G.FOOD, "Sushi & Asian"),
    "asian": (G.FOOD, "Sushi & Asian"),
    "vietnamese": (G.FOOD, "Sushi & Asian"),
    "korean": (G.FOOD, "Sushi & Asian"),
    "ramen": (G.FOOD, "Sushi & Asian"),
    "noodle": (G.FOOD, "Sushi & Asian"),
    "mexican": (G.FOOD, "Mexican"),
    "tex-mex": (G.FOOD, "Mexican"),
    "burrito": (G.FOOD, "Mexican"),
    "taco": (G.FOOD, "Mexican"),
    "ice_cream": (G.FOOD, "Bakeries & Desserts"),
    "frozen_yogurt": (G.FOOD, "Bakeries & Desserts"),
    "donut": (G.FOOD, "Bakeries & Desserts"),
    "dessert": (G.FOOD, "Bakeries & Desserts"),
    "bagel": (G.FOOD, "Bakeries & Desserts"),
    "juice": (G.FOOD, "Specialty Food"),
    "bubble_tea": (G.FOOD, "Specialty Food"),
    "tea": (G.FOOD, "Specialty Food"),
}

# Preference when one brand appears under several NSI paths (lower wins).
PATH_PRIORITY = (
    "amenity/fast_food",
    "amenity/cafe",
    "amenity/restaurant",
    "shop/department_store",
    "shop/wholesale",
    "shop/supermarket",
    "amenity/fuel",
    "shop/convenience",
    "amenity/pharmacy",
    "tourism/hotel",
)

INSTITUTION_PATHS = {"amenity/bank", "amenity/atm"}
# NSI paths whose US brands become institutions (besides amenity=bank).
INSTITUTION_PATH_TYPE: dict[str, tuple[str, tuple[str, ...]]] = {
    "office/insurance": ("insurer", ("insurance",)),
    "office/financial_advisor": ("brokerage", ("investment",)),
    "office/mortgage": ("mortgage_servicer", ("mortgage", "heloc")),
    "shop/money_lender": ("payday", ("payday", "personal_loan")),
}
SKIP_PATHS = {
    "advertising",
    "landuse/residential",
    "landuse/industrial",
    "landuse/military",
    "landuse/quarry",
    "landuse/retail",
    "amenity/public_bookcase",
    "amenity/vending_machine",
    "amenity/food_sharing",
    "amenity/trolley_bay",
    "amenity/waste_basket",
    "amenity/weighbridge",
    "amenity/conference_centre",
    "amenity/library",
    "amenity/fire_station",
    "amenity/police",
    "amenity/prison",
    "amenity/toilets",
    "amenity/drinking_water",
    "amenity/post_box",
    "amenity/telephone",
    "amenity/ticket_validator",
    "amenity/bicycle_parking",
    "amenity/bbq",
    "amenity/community_centre",
    "amenity/marketplace",
    "tourism/information",
    "emergency",
    "man_made/surveillance",
    "man_made/survey_point",
    "man_made/street_cabinet",
    "man_made/monitoring_station",
    "man_made/mast",
    "man_made/tower",
    "man_made/works",
    "man_made/pipeline",
    "man_made/pumping_station",
    "man_made/reservoir_covered",
    "pipeline",
    "power/tower",
    "power/pole",
    "power/transformer",
    "power/catenary_mast",
    "route",
    "highway/street_lamp",
    "leisure/pitch",
    "leisure/playground",
    "leisure/dog_park",
    "boundary/protected_area",
    "boundary/aboriginal_lands",
    "natural",
    "internet_access",
    "healthcare/blood_donation",
    "amenity/insurance_adjuster",
    "office/insurance_adjuster",
}

OPERATOR_KIND: dict[str, str] = {
    G.BILLS: "utility",
    G.HEALTH: "healthcare",
    G.EDU: "education",
    G.GOV: "government",
}

US_CODES = {"us", "pr", "vi", "gu", "as", "mp", "021"}
LATIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 &'’.,!+\-/:()é]*")
BANK_WORDS = re.compile(r"\b(BANK|BANCORP|CREDIT UNION|SAVINGS|TRUST|FINANCIAL|FCU|CU)\b")


# --------------------------------------------------------------------------------------------
# Text helpers


def ascii_fold(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slugify(text: str) -> str:
    folded = ascii_fold(text).lower().replace("&", " and ").replace("+", " plus ")
    folded = folded.replace("'", "")
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return slug or "x"


def alias_variants(name: str) -> list[str]:
    """UPPERCASE descriptor forms of a name: as written, without punctuation, & → AND."""
    base = ascii_fold(name).upper().strip()
    if not base or not base.isascii():
        return []
    out = [re.sub(r"\s+", " ", base)]
    no_apos = base.replace("'", "")
    out.append(re.sub(r"\s+", " ", no_apos))
    spaced = re.sub(r"[^A-Z0-9&]+", " ", no_apos.replace("+", " PLUS ")).strip()
    out.append(re.sub(r"\s+", " ", spaced))
    if "&" in spaced:
        out.append(re.sub(r"\s+", " ", spaced.replace("&", " AND ")).strip())
        out.append(re.sub(r"\s+", " ", spaced.replace("&", " ")).strip())
    if " AND " in f" {spaced} ":
        out.append(re.sub(r"\s+", " ", f" {spaced} ".replace(" AND ", " & ")).strip())
    squashed = re.sub(r"[^A-Z0-9]", "", no_apos)
    if " " in spaced and len(squashed) >= 4:
        out.append(squashed)
    # "D & B'S" → "D BS" is noise: single letters only survive next to their "&".
    return [a for a in out if len(a) >= 2 and not re.search(r"(^| )[A-Z]( [A-Z]{1,2}$|$)", a)]


# Names that are words, not brands: never aliases on their own (NSI's genericWords plus ours).
_GENERIC_WORDS = """
AIR ATM AUTO BANK BAR CAFE CASH CENTER CHECK CHURCH CLUB COFFEE CREDIT CU DELI DINER EXPRESS
FAMILY FARM FOOD FOODS FUEL GAS GRILL HOME HOTEL INN KITCHEN MARKET MART MOTEL NA NONE ONE
OUTLET PARK PAY PAYMENT PHARMACY PIZZA PLUS POST PUB SALON SERVICE SHOP SHOPS STORE STORES
SUPERMARKET THE TRANSFER UNKNOWN USA VISA WATER
"""
GENERIC_ALIASES = frozenset(_GENERIC_WORDS.split())


def clean_aliases(
    aliases: Iterable[str], *, keep_prefixes: bool = False, name: str | None = None
) -> tuple[str, ...]:
    """UPPERCASE, trimmed, no generic words; descriptor prefixes ("SQ *") only for processors.

    A brand whose own name is a generic word ("Express") keeps that name as its only alias.
    """
    out = []
    aliases = list(aliases)
    for alias in aliases:
        text = re.sub(r"\s+", " ", ascii_fold(alias).upper()).strip()
        if not keep_prefixes:
            text = re.sub(r"\s*\*\s*$", "", text).strip()
        if len(text) < 2 or not text.isascii() or text in GENERIC_ALIASES:
            continue
        out.append(text)
    if not out and name:
        out = [a for a in alias_variants(name) if len(a) >= 2]
    return unique(out)


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def mccs_for(group: str, category: str) -> tuple[str, ...]:
    cat = taxonomy.find_category(group, category)
    if cat is None:
        raise SystemExit(f"unknown category {group!r} / {category!r}")
    return cat.mccs[:3]


# --------------------------------------------------------------------------------------------
# NSI


def fetch_nsi(dest: Path, *, timeout: float = 600) -> Path:
    """``npm pack`` the pinned NSI version into ``dest``; return the tarball path."""
    spec = f"{NSI_PACKAGE}@{NSI_VERSION}"
    result = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(dest)],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    name = result.stdout.strip().splitlines()[-1]
    return dest / name


NSI_FILES = {
    "nsi": "dist/json/nsi.min.json",
    "wikidata": "dist/wikidata/wikidata.min.json",
    "dissolved": "dist/wikidata/dissolved.min.json",
}


def read_nsi(source: Path) -> dict[str, Any]:
    """The NSI index plus its wikidata companion (websites, logos) and the dissolved brands.

    Returns ``{"_meta", "nsi", "wikidata", "dissolved"}``; ``source`` is the npm tarball or an
    unpacked package directory.
    """
    docs: dict[str, Any] = {}
    if source.is_dir():
        root = source if (source / "dist").is_dir() else source / "package"
        for key, rel in NSI_FILES.items():
            docs[key] = json.loads((root / rel).read_text("utf-8"))
    else:
        with tarfile.open(source, "r:gz") as tar:
            for key, rel in NSI_FILES.items():
                member = tar.extractfile(f"package/{rel}")
                if member is None:
                    raise SystemExit(f"{source}: no package/{rel}")
                docs[key] = json.loads(member.read().decode("utf-8"))
    return {
        "_meta": docs["nsi"]["_meta"],
        "nsi": docs["nsi"]["nsi"],
        "wikidata": docs["wikidata"].get("wikidata", {}),
        "dissolved": docs["dissolved"].get("dissolved", {}),
    }


def website_domain(url: str | None) -> str | None:
    if not url:
        return None
    host = re.sub(r"^[a-z]+://", "", url.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    return host if "." in host else None


def wikidata_by_label_and_domain(nsi: dict[str, Any]) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for qid in sorted(nsi.get("wikidata", {})):
        entity = nsi["wikidata"][qid] or {}
        label = entity.get("label")
        domain, _ = wikidata_details(nsi, qid)
        if label and domain:
            index.setdefault((label.lower(), domain), qid)
    return index


def wikidata_details(nsi: dict[str, Any], qid: str | None) -> tuple[str | None, str | None]:
    """(domain, logo URL) of a wikidata entity from NSI's wikidata companion file."""
    if not qid:
        return None, None
    entity = nsi.get("wikidata", {}).get(qid) or {}
    website = (entity.get("identities") or {}).get("website")
    if not website and entity.get("officialWebsites"):
        website = entity["officialWebsites"][0]
    logo = (entity.get("logos") or {}).get("wikidata")
    if logo:
        logo = logo.replace(" ", "%20")
    return website_domain(website), logo


def location_is_us(location_set: dict[str, Any], display_name: str) -> bool:
    include = [str(x).lower() for x in location_set.get("include", [])]
    exclude = [str(x).lower() for x in location_set.get("exclude", [])]
    if "us" in exclude:
        return False
    if any(x in US_CODES or x.startswith("us-") for x in include):
        return True
    # World-wide brands (001, the Americas) are plausible in the US when written in Latin script.
    return any(x in {"001", "019"} for x in include) and bool(
        LATIN_NAME.fullmatch(ascii_fold(display_name))
    )


def strictly_us(location_set: dict[str, Any]) -> bool:
    include = [str(x).lower() for x in location_set.get("include", [])]
    return any(x in US_CODES or x.startswith("us-") for x in include)


def item_names(item: dict[str, Any], *, operator: bool) -> list[str]:
    tags: dict[str, str] = item.get("tags", {})
    keys = (
        ("operator", "operator:en", "operator:short", "short_name", "name")
        if operator
        else ("brand", "brand:en", "name", "name:en", "short_name", "brand:short", "alt_name")
    )
    display = re.sub(r"\s*\([^)]*\)\s*$", "", item["displayName"]).strip()
    names = [display]
    for key in keys:
        if key.startswith(("brand", "operator")) and tags.get(key, display) != display:
            # A sub-brand ("Costco Pharmacy", brand "Costco"): the parent's name is not its alias.
            continue
        value = tags.get(key)
        if value:
            names.extend(v.strip() for v in value.split(";"))
    names.extend(item.get("matchNames", []))
    # "Agribank (USA)" → "Agribank"
    return [re.sub(r"\s*\([^)]*\)\s*$", "", n).strip() for n in names if n]


@dataclass
class Candidate:
    name: str
    path: str
    group: str
    category: str
    aliases: list[str]
    wikidata: str | None
    kind: str
    source_id: str
    extra_paths: list[str] = field(default_factory=list)


def nsi_category(path: str, tags: dict[str, str]) -> tuple[str, str] | None:
    osm = path.split("/", 1)[1]
    found = OSM_CATEGORY.get(osm)
    if found is None:
        return None
    if found[0] == G.FOOD and osm in {"amenity/fast_food", "amenity/restaurant", "amenity/cafe"}:
        for cuisine in tags.get("cuisine", "").split(";"):
            refined = CUISINE_CATEGORY.get(cuisine.strip())
            if refined is not None:
                if osm == "amenity/fast_food" and refined[1] in {"Sushi & Asian", "Mexican"}:
                    return found  # Taco Bell is fast food first, Mexican second
                return refined
    return found


def skip_path(osm: str) -> bool:
    return any(osm == s or osm.startswith(s + "/") for s in SKIP_PATHS)


OPERATOR_NAME_RULES: tuple[tuple[re.Pattern[str], str, str, str], ...] = (
    (re.compile(r"\b(UNIVERSITY|COLLEGE)\b"), G.EDU, "Tuition", "education"),
    (re.compile(r"\b(SCHOOLS?|ISD|USD|SCHOOL DISTRICT|ACADEMY)\b"), G.EDU, "Schools", "education"),
    (
        re.compile(r"\b(HOSPITALS?|HEALTH|MEDICAL|CLINICS?|HEALTHCARE)\b"),
        G.HEALTH,
        "Hospitals",
        "healthcare",
    ),
    (
        re.compile(
            r"^(CITY|TOWN|VILLAGE|COUNTY|STATE|BOROUGH|TOWNSHIP) OF\b|\bCOUNTY$|\bDEPARTMENT\b"
        ),
        G.GOV,
        "Government Services",
        "government",
    ),
)
UTILITY_NAME = re.compile(
    r"\b(ELECTRIC|ELECTRICITY|ENERGY|POWER|UTILITY|UTILITIES|LIGHT|EDISON|GAS|COOPERATIVE|"
    r"CO-OP|COOP|EMC|REMC|PUD|PUBLIC SERVICE|WATER|AUTHORITY)\b"
)
WASTE_NAME = re.compile(
    r"\b(WASTE|DISPOSAL|SANITATION|RECYCLING|REFUSE|ENVIRONMENTAL|HAULING|TRASH|LANDFILL)\b"
)


def operator_category(
    osm: str, name: str, category: tuple[str, str]
) -> tuple[tuple[str, str], str] | None:
    """Category and kind of an NSI operator (public bodies, utilities, hospitals, schools).

    Operators are whoever runs a map feature, so the feature type alone misleads (a university
    operates charging stations, a corporation operates a solar generator): names decide first.
    """
    upper = ascii_fold(name).upper()
    for pattern, group, cat, kind in OPERATOR_NAME_RULES:
        if pattern.search(upper):
            if group == G.GOV and category[0] == G.BILLS:
                return category, "utility"  # "City of Austin" running a power line bills power
            return (group, cat), kind
    if category[0] == G.BILLS:
        if category[1] == "Trash & Sewer":
            return (category, "utility") if WASTE_NAME.search(upper) else None
        return (category, "utility") if UTILITY_NAME.search(upper) else None
    if category[0] == G.SPORT:
        return category, "government"
    if category[0] in {G.HEALTH, G.EDU, G.GOV}:
        return category, OPERATOR_KIND[category[0]]
    if osm.startswith(("amenity/charging_station", "man_made/charge_point", "amenity/parking")):
        return category, "brand"
    return category, "brand"


def collect_nsi(
    nsi: dict[str, Any],
) -> tuple[list[Candidate], list[Candidate], list[tuple[str, str]]]:
    """Brands/operators → merchant candidates, institution candidates, unmapped paths."""
    merchants: list[Candidate] = []
    institutions: list[Candidate] = []
    unmapped: list[tuple[str, str]] = []
    dissolved = nsi.get("dissolved", {})
    for path in sorted(nsi["nsi"]):
        tree, osm = path.split("/", 1)
        if tree not in {"brands", "operators"} or skip_path(osm):
            continue
        operator = tree == "operators"
        for item in nsi["nsi"][path]["items"]:
            if item["id"] in dissolved:
                continue  # the brand no longer trades
            loc = item.get("locationSet", {})
            if operator or osm in INSTITUTION_PATHS or osm in INSTITUTION_PATH_TYPE:
                if not strictly_us(loc):
                    continue
            elif not location_is_us(loc, item["displayName"]):
                continue
            tags = item.get("tags", {})
            names = item_names(item, operator=operator)
            aliases = [a for n in names for a in alias_variants(n)]
            if not aliases:
                continue
            display = re.sub(r"\s*\([^)]*\)\s*$", "", item["displayName"]).strip()
            wikidata = tags.get("operator:wikidata" if operator else "brand:wikidata")
            if osm in INSTITUTION_PATHS:
                upper = ascii_fold(display).upper()
                if osm == "amenity/atm" and not BANK_WORDS.search(upper):
                    continue
                institutions.append(
                    Candidate(display, path, "", "", aliases, wikidata, "bank", item["id"])
                )
                continue
            if osm in INSTITUTION_PATH_TYPE:
                institutions.append(
                    Candidate(
                        display,
                        path,
                        "",
                        "",
                        aliases,
                        wikidata,
                        INSTITUTION_PATH_TYPE[osm][0],
                        item["id"],
                    )
                )
                continue
            category = nsi_category(path, tags)
            if category is None:
                unmapped.append((path, display))
                continue
            kind = "brand"
            if operator:
                found = operator_category(osm, display, category)
                if found is None:
                    continue
                category, kind = found
                # Operators' short names are mostly bare initials ("APS", "MUSD"): too ambiguous.
                aliases = [a for a in aliases if len(a) > 4 or a in alias_variants(display)]
            merchants.append(
                Candidate(display, path, *category, aliases, wikidata, kind, item["id"])
            )
    return merchants, institutions, unmapped


def path_rank(path: str) -> tuple[int, str]:
    osm = path.split("/", 1)[1]
    tree_rank = 0 if path.startswith("brands/") else 1
    try:
        return (tree_rank * 100 + PATH_PRIORITY.index(osm), path)
    except ValueError:
        return (tree_rank * 100 + len(PATH_PRIORITY), path)


def merge_candidates(cands: list[Candidate]) -> list[Candidate]:
    """One candidate per brand name: the same wikidata id and display name under several NSI
    paths merge (the most typical path wins); sub-brands ("Costco Gasoline") stay apart."""
    by_key: dict[str, list[Candidate]] = {}
    for cand in cands:
        key = f"{cand.wikidata or ''}:{slugify(cand.name)}"
        by_key.setdefault(key, []).append(cand)
    merged: list[Candidate] = []
    for key in sorted(by_key):
        group = sorted(by_key[key], key=lambda c: (path_rank(c.path), c.source_id))
        head = group[0]
        aliases = [a for c in group for a in c.aliases]
        merged.append(
            Candidate(
                head.name,
                head.path,
                head.group,
                head.category,
                list(unique(aliases)),
                head.wikidata,
                head.kind,
                head.source_id,
                [c.path for c in group[1:]],
            )
        )
    return merged


# --------------------------------------------------------------------------------------------
# Curated lists


def load_yaml(name: str, directory: Path = CURATED_DIR) -> Any:
    try:
        return yaml.safe_load((directory / name).read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise SystemExit(f"{name}: invalid YAML: {exc}") from None


def parse_merchant_line(line: str) -> tuple[str, str | None, list[str]]:
    """``Name | domain | ALIAS; ALIAS`` (domain and aliases optional)."""
    parts = [p.strip() for p in line.split("|")]
    name = parts[0]
    domain = parts[1] if len(parts) > 1 and parts[1] else None
    aliases = [a.strip().upper() for a in parts[2].split(";")] if len(parts) > 2 else []
    return name, domain, [a for a in aliases if a]


def curated_merchants() -> Iterator[dict[str, Any]]:
    for path in sorted(CURATED_DIR.glob("merchants*.yaml")):
        doc = load_yaml(path.name)
        for block in doc:
            group, _, category = (s.strip() for s in block["category"].partition("/"))
            if taxonomy.find_category(group, category) is None:
                raise SystemExit(f"{path.name}: unknown category {block['category']!r}")
            kind = block.get("kind", "online")
            mccs = tuple(str(m) for m in block.get("mccs", ())) or mccs_for(group, category)
            bad = [m for m in mccs if m not in known_mccs()]
            if bad:
                # YAML reads 0742 as an octal number: quote MCCs with a leading zero.
                raise SystemExit(f"{path.name}: {block['category']}: unknown MCCs {bad}")
            for entry in block["merchants"]:
                name, domain, extra = parse_merchant_line(entry)
                yield {
                    "name": name,
                    "domain": domain,
                    "aliases": extra,
                    "group": group,
                    "category": category,
                    "kind": kind,
                    "mccs": mccs,
                    "file": path.name,
                }


# --------------------------------------------------------------------------------------------
# Institutions

PRODUCT_STEMS: dict[str, tuple[str, ...]] = {
    "mortgage": ("MORTGAGE", "MTG", "HOME LOAN", "MTG PYMT"),
    "heloc": ("HELOC", "HOME EQUITY", "EQUITY LINE"),
    # Not "AUTO PAY": that is how any biller words an automatic payment.
    "auto_loan": ("AUTO LOAN", "AUTO FINANCE", "AUTO", "VEHICLE LOAN"),
    "credit_card": ("CARD", "CRD PMT", "CREDIT CARD", "CARD PYMT", "EPAY"),
    "student_loan": ("STUDENT LOAN", "STUDENT LN", "EDU LOAN"),
    "personal_loan": ("LOAN", "LOAN PYMT", "LN PMT", "PERSONAL LOAN"),
    "investment": ("INVEST", "BROKERAGE", "SECURITIES", "IRA", "TRANSFER"),
    "insurance": ("INS PREM", "INSURANCE", "INS PAYMENT", "PREMIUM"),
    "deposit": ("TRANSFER", "XFER", "ACCT TRANSFER", "DEPOSIT"),
    "p2p": ("PAYMENT", "TRANSFER", "SENT", "CASHOUT"),
    "bnpl": ("PAYMENT", "PMT", "PAY IN 4", "INSTALLMENT"),
    "crypto": ("PURCHASE", "TRANSFER", "DEPOSIT"),
    "payday": ("LOAN", "PAYMENT", "ADVANCE", "ACH DEBIT"),
    "ewa": ("ADVANCE", "REPAYMENT", "TIP", "INSTANT"),
}

TYPE_DEFAULT_PRODUCTS: dict[str, tuple[str, ...]] = {
    "bank": ("mortgage", "heloc", "auto_loan", "credit_card", "personal_loan", "deposit"),
    "credit_union": ("mortgage", "heloc", "auto_loan", "credit_card", "personal_loan", "deposit"),
    "card_issuer": ("credit_card",),
    "mortgage_servicer": ("mortgage", "heloc"),
    "auto_lender": ("auto_loan",),
    "student_loan_servicer": ("student_loan",),
    "personal_lender": ("personal_loan",),
    "brokerage": ("investment",),
    "insurer": ("insurance",),
    "fintech": ("deposit", "p2p"),
    "p2p": ("p2p",),
    "bnpl": ("bnpl",),
    "crypto": ("crypto",),
    "payday": ("payday", "personal_loan"),
    "ewa": ("ewa",),
}

MERCHANT_KIND_OF_TYPE: dict[str, str] = {
    "p2p": "p2p",
    "bnpl": "bnpl",
    "crypto": "crypto",
    "insurer": "insurer",
    "payday": "lender",
    "personal_lender": "lender",
    "auto_lender": "lender",
    "mortgage_servicer": "lender",
    "student_loan_servicer": "lender",
    "card_issuer": "lender",
}

SHORT_SUFFIXES = (
    (re.compile(r"\bFEDERAL CREDIT UNION$"), "FCU"),
    (re.compile(r"\bCREDIT UNION$"), "CU"),
    (re.compile(r"\bNATIONAL BANK$"), "NB"),
    (re.compile(r"\bSAVINGS BANK$"), "SB"),
    (re.compile(r"\bBANK AND TRUST$"), "B&T"),
    (re.compile(r"\bBANK & TRUST$"), "B&T"),
)


def institution_type(name: str, default: str) -> str:
    upper = ascii_fold(name).upper()
    if default == "bank" and re.search(r"\b(CREDIT UNION|FCU|CU)\b", upper):
        return "credit_union"
    return default


def short_forms(name: str) -> list[str]:
    upper = re.sub(r"[^A-Z0-9& ]+", " ", ascii_fold(name).upper().replace("'", ""))
    upper = re.sub(r"\s+", " ", upper).strip()
    out = []
    for pattern, short in SHORT_SUFFIXES:
        if pattern.search(upper):
            out.append(pattern.sub(short, upper).strip())
    for suffix in (
        "CREDIT UNION",
        "FEDERAL CREDIT UNION",
        "NATIONAL BANK",
        "SAVINGS BANK",
        "BANK AND TRUST",
        "BANK & TRUST",
        "BANK",
        "N A",
        "NA",
    ):
        if not upper.endswith(" " + suffix):
            continue
        stem = upper[: -len(suffix)].strip()
        # A lone common word ("NAVY", "FIRST", "UNITED") would name half the statement lines.
        if " " in stem or (len(stem) >= 7 and stem not in GENERIC_ALIASES):
            out.append(stem)
    return list(unique(out))


def default_statement_names(stems: list[str], products: Iterable[str]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for product in products:
        forms = [f"{stem} {word}" for stem in stems[:3] for word in PRODUCT_STEMS[product][:3]]
        names[product] = list(unique(forms))
    return names


def _unshared(
    generated: dict[str, list[str]],
    given: dict[str, list[str]],
    products: tuple[str, ...],
    type_: str,
) -> dict[str, list[str]]:
    """Generated statement names that two products of one institution would print the same
    (ROBINHOOD TRANSFER for deposit and crypto, SPEEDY CASH LOAN for payday and personal loan)
    would make the product a coin toss: a form stays with one product only - a curated one's, else
    the product the institution's type stands for (a payday lender's LOAN is its payday loan),
    else the first in product order."""
    given_forms = {f: p for p, forms in given.items() for f in forms}
    preferred: tuple[str, ...] = ()
    if type_ not in ("bank", "credit_union", "fintech"):
        preferred = TYPE_DEFAULT_PRODUCTS.get(type_, ())[:1]
    owner: dict[str, str] = {}
    out: dict[str, list[str]] = {}
    for product in [*preferred, *(p for p in products if p not in preferred)]:
        kept = []
        for form in generated.get(product, []):
            if given_forms.get(form, product) != product or owner.get(form, product) != product:
                continue
            owner[form] = product
            kept.append(form)
        out[product] = kept
    return out


def make_institution(
    *,
    name: str,
    type_: str,
    products: Iterable[str],
    aliases: Iterable[str],
    statement_names: dict[str, list[str]] | None,
    wikidata: str | None,
    domain: str | None,
    source: str,
) -> dict[str, Any]:
    products_t = tuple(p for p in FI_PRODUCTS if p in set(products))
    unknown = set(products) - set(FI_PRODUCTS)
    if unknown:
        raise SystemExit(f"{name}: unknown products {sorted(unknown)}")
    alias_t = clean_aliases([*aliases, *alias_variants(name), *short_forms(name)], name=name)
    stems = list(unique([alias_t[0], *short_forms(name)]))
    generated = default_statement_names(stems, products_t)
    given = {k: [s.upper() for s in v] for k, v in (statement_names or {}).items()}
    for product in given:
        if product not in products_t:
            raise SystemExit(f"{name}: statement_names for {product!r} not in its products")
    generated = _unshared(generated, given, products_t, type_)
    merged = {p: list(unique([*given.get(p, []), *generated[p]])) for p in products_t}
    return {
        "institution_id": slugify(name),
        "name": name,
        "type": type_,
        "products": list(products_t),
        "aliases": list(alias_t),
        "statement_names": merged,
        "wikidata": wikidata,
        "domain": domain,
        "source": source,
    }


# --------------------------------------------------------------------------------------------
# Assembly


def build(
    nsi: dict[str, Any], *, strict: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Merchant and institution rows, sorted by id.

    ``strict`` fails on an override naming a merchant the NSI data does not have (a renamed
    brand); tests that build from a miniature NSI turn it off.
    """
    nsi_merchants, nsi_institutions, _ = collect_nsi(nsi)
    merged = merge_candidates(nsi_merchants)
    by_wikidata_inst: dict[str, Candidate] = {}
    inst_cands: list[Candidate] = []
    for cand in sorted(nsi_institutions, key=lambda c: (path_rank(c.path), c.source_id)):
        key = cand.wikidata or "name:" + slugify(cand.name)
        if key in by_wikidata_inst:
            by_wikidata_inst[key].aliases = list(
                unique([*by_wikidata_inst[key].aliases, *cand.aliases])
            )
            continue
        by_wikidata_inst[key] = cand
        inst_cands.append(cand)

    # -- institutions: curated first (they carry products and statement names), then NSI.
    institutions: dict[str, dict[str, Any]] = {}
    curated_inst = load_yaml("institutions.yaml")
    nsi_by_slug = {slugify(c.name): c for c in inst_cands}
    inst_merchants: list[dict[str, Any]] = []
    for block in curated_inst:
        type_ = block["type"]
        block_products = block.get("products") or TYPE_DEFAULT_PRODUCTS[type_]
        for entry in block["institutions"]:
            if isinstance(entry, str):
                name, domain, aliases = parse_merchant_line(entry)
                entry = {"name": name, "domain": domain, "aliases": aliases}
            name = entry["name"]
            slug = entry.get("id") or slugify(name)
            aliases = list(entry.get("aliases", []))
            # Every NSI bank/insurer/... whose name is one of ours merges into the curated entry.
            matches = [
                nsi_by_slug.pop(key)
                for key in unique([slug, slugify(name), *(slugify(a) for a in aliases)])
                if key in nsi_by_slug
            ]
            nsi_match = matches[0] if matches else None
            wikidata = entry.get("wikidata")
            for found in matches:
                aliases.extend(found.aliases)
                wikidata = wikidata or found.wikidata
            if slug in institutions:
                raise SystemExit(f"institutions.yaml: duplicate institution {slug!r}")
            inst = make_institution(
                name=name,
                type_=entry.get("type", type_),
                products=entry.get("products", block_products),
                aliases=aliases,
                statement_names=entry.get("statement_names"),
                wikidata=wikidata,
                domain=entry.get("domain"),
                source="curated+nsi" if nsi_match is not None else "curated",
            )
            inst["institution_id"] = slug
            institutions[slug] = inst
            merchant_cat = entry.get("merchant", block.get("merchant"))
            if merchant_cat:
                group, _, category = (s.strip() for s in merchant_cat.partition("/"))
                kind = entry.get("merchant_kind", block.get("merchant_kind"))
                inst_merchants.append(
                    {
                        "name": name,
                        "domain": entry.get("domain"),
                        "aliases": aliases,
                        "group": group,
                        "category": category,
                        "kind": kind
                        or MERCHANT_KIND_OF_TYPE.get(entry.get("type", type_), "fintech"),
                        "mccs": mccs_for(group, category),
                        "wikidata": wikidata,
                        "id": slug,
                    }
                )
    for slug in sorted(nsi_by_slug):
        cand = nsi_by_slug[slug]
        if slug in institutions:
            continue
        default_type = cand.kind
        type_ = institution_type(cand.name, default_type)
        institutions[slug] = make_institution(
            name=cand.name,
            type_=type_,
            products=TYPE_DEFAULT_PRODUCTS[type_],
            aliases=cand.aliases,
            statement_names=None,
            wikidata=cand.wikidata,
            domain=None,
            source="nsi",
        )

    # Generated short forms of an NSI bank must not take a name a curated institution owns
    # ("FIDELITY" from "Fidelity Bank" vs Fidelity Investments).
    curated_aliases = {
        a for inst in institutions.values() if inst["source"] != "nsi" for a in inst["aliases"]
    }
    for inst in institutions.values():
        if inst["source"] == "nsi":
            kept = [a for a in inst["aliases"] if a not in curated_aliases]
            inst["aliases"] = kept or inst["aliases"][:1]

    resolve_institution_aliases(institutions)

    # -- merchants: curated first (they win on slug), then NSI.
    merchants: dict[str, dict[str, Any]] = {}
    nsi_by_slug_m: dict[str, Candidate] = {}
    for cand in sorted(merged, key=lambda c: (path_rank(c.path), c.source_id)):
        nsi_by_slug_m.setdefault(slugify(cand.name), cand)
    used_nsi: set[str] = set()
    curated = [*inst_merchants, *curated_merchants()]
    for entry in curated:
        slug = entry.get("id") or slugify(entry["name"])
        if slug in merchants:
            raise SystemExit(f"curated merchants: duplicate merchant {slug!r}")
        match: Candidate | None = None
        for key in unique([slug, *(slugify(a) for a in entry["aliases"])]):
            hit = nsi_by_slug_m.get(key)
            if hit is not None and hit.source_id not in used_nsi:
                match = hit
                break
        aliases = [*entry["aliases"], *alias_variants(entry["name"])]
        wikidata = entry.get("wikidata")
        if match is not None:
            used_nsi.add(match.source_id)
            aliases.extend(match.aliases)
            wikidata = wikidata or match.wikidata
        merchants[slug] = {
            "merchant_id": slug,
            "name": entry["name"],
            "category_group": entry["group"],
            "category": entry["category"],
            "mccs": list(entry["mccs"]),
            "aliases": list(
                clean_aliases(
                    aliases, keep_prefixes=entry["kind"] == "processor", name=entry["name"]
                )
            ),
            "kind": entry["kind"],
            "domain": entry["domain"],
            "wikidata": wikidata,
            "logo_url": None,
            "source": "curated+nsi" if match is not None else "curated",
        }
    for cand in sorted(merged, key=lambda c: (path_rank(c.path), c.source_id)):
        if cand.source_id in used_nsi:
            continue
        slug = slugify(cand.name)
        if slug in merchants:
            existing = merchants[slug]
            if existing["wikidata"] == cand.wikidata or existing["source"] != "nsi":
                continue
            slug = f"{slug}-{slugify(cand.category)}"
            if slug in merchants:
                slug = f"{slug}-{(cand.wikidata or cand.source_id).lower()}"
        merchants[slug] = {
            "merchant_id": slug,
            "name": cand.name,
            "category_group": cand.group,
            "category": cand.category,
            "mccs": list(mccs_for(cand.group, cand.category)),
            "aliases": list(clean_aliases(cand.aliases, name=cand.name)),
            "kind": cand.kind,
            "domain": None,
            "wikidata": cand.wikidata,
            "logo_url": None,
            "source": "nsi",
        }
    apply_overrides(merchants, load_yaml("overrides.yaml") or {}, strict=strict)
    resolve_alias_owners(merchants)
    by_label_domain = wikidata_by_label_and_domain(nsi)
    for row in [*merchants.values(), *institutions.values()]:
        if row["wikidata"] is None and row["domain"]:
            # Curated entry: adopt a wikidata id only when both the name and the website agree.
            row["wikidata"] = by_label_domain.get((row["name"].lower(), row["domain"]))
        domain, logo = wikidata_details(nsi, row["wikidata"])
        row["domain"] = row["domain"] or domain
        if "logo_url" in row:
            row["logo_url"] = row["logo_url"] or logo
    merchant_rows = sorted(merchants.values(), key=lambda m: m["merchant_id"])
    institution_rows = sorted(institutions.values(), key=lambda i: i["institution_id"])
    return merchant_rows, institution_rows


def apply_overrides(
    merchants: dict[str, dict[str, Any]], overrides: dict[str, Any], *, strict: bool = True
) -> None:
    for merchant_id in sorted(overrides):
        spec = overrides[merchant_id]
        merchant = merchants.get(merchant_id)
        if merchant is None:
            if strict:
                raise SystemExit(f"overrides.yaml: no merchant {merchant_id!r}")
            continue
        drop = {a.upper() for a in spec.get("drop_aliases", ())}
        if "merge_into" in spec:
            target = merchants.get(spec["merge_into"])
            if target is None:
                raise SystemExit(f"overrides.yaml: {merchant_id} merges into unknown merchant")
            moved = [a for a in merchant["aliases"] if a not in drop]
            target["aliases"] = list(unique([*target["aliases"], *moved]))
            target["wikidata"] = target["wikidata"] or merchant["wikidata"]
            del merchants[merchant_id]
            continue
        if "category" in spec:
            group, _, category = (s.strip() for s in spec["category"].partition("/"))
            merchant["category_group"], merchant["category"] = group, category
            merchant["mccs"] = list(mccs_for(group, category))
        added = [a.upper() for a in spec.get("add_aliases", ())]
        merchant["aliases"] = list(
            unique(a for a in [*merchant["aliases"], *added] if a not in drop)
        )


def resolve_alias_owners(merchants: dict[str, dict[str, Any]]) -> None:
    """Give every alias to one merchant so that a match is never ambiguous.

    The owner is the merchant whose own name the alias is (exact first, then a spelling
    variant), curated before NSI, then the first in build order (curated, then NSI by path
    rank). A merchant left with no alias duplicated another one (the same brand filed twice, a
    county of the same name elsewhere) and is dropped.
    """
    owners: dict[str, tuple[tuple[int, int, int], str]] = {}
    for order, merchant in enumerate(merchants.values()):
        variants = alias_variants(merchant["name"])
        exact = variants[0] if variants else None
        curated = 0 if merchant["source"] != "nsi" else 1
        for alias in merchant["aliases"]:
            rank = 0 if alias == exact else 1 if alias in variants else 2
            score = (rank, curated, order)
            if alias not in owners or score < owners[alias][0]:
                owners[alias] = (score, merchant["merchant_id"])
    for merchant_id in list(merchants):
        merchant = merchants[merchant_id]
        kept = [a for a in merchant["aliases"] if owners[a][1] == merchant_id]
        if kept:
            merchant["aliases"] = kept
        else:
            del merchants[merchant_id]


def resolve_institution_aliases(institutions: dict[str, dict[str, Any]]) -> None:
    """Like :func:`resolve_alias_owners`, but an institution is never dropped: banks of the
    same name in different states ("First State Bank") keep their own name."""
    owners: dict[str, tuple[tuple[int, int, int], str]] = {}
    for order, inst in enumerate(institutions.values()):
        variants = alias_variants(inst["name"])
        curated = 0 if inst["source"] != "nsi" else 1
        for alias in inst["aliases"]:
            rank = 0 if variants and alias == variants[0] else 1 if alias in variants else 2
            score = (rank, curated, order)
            if alias not in owners or score < owners[alias][0]:
                owners[alias] = (score, inst["institution_id"])
    for inst in institutions.values():
        kept = [a for a in inst["aliases"] if owners[a][1] == inst["institution_id"]]
        inst["aliases"] = kept or inst["aliases"][:1]


@functools.cache
def known_mccs() -> frozenset[str]:
    return frozenset(code for code, _ in mcc_rows())


def mcc_rows() -> list[tuple[str, str]]:
    """Every MCC of the iso18245 package with its best description."""
    data = files("iso18245") / "data"
    descriptions: dict[str, str] = {}
    order = (
        "iso18245_official_list.csv",
        "visa_list.csv",
        "mastercard_list.csv",
        "amex_list.csv",
        "usda_list.csv",
        "stripe_list.csv",
        "alipay_list.csv",
    )
    for name in order:
        text = (data / name).read_text("utf-8")
        for row in list(csv.reader(io.StringIO(text)))[1:]:
            if not row or not (len(row[0]) == 4 and row[0].isdigit()):
                continue
            description = re.sub(r"\s+", " ", row[1]).strip()
            if description and row[0] not in descriptions:
                descriptions[row[0]] = description
    return sorted(descriptions.items())


def dump_table(columns: tuple[str, ...], rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "{"
        + ",".join(f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in meta.items()),
        f'"columns":{json.dumps(list(columns))},',
        '"rows":[',
    ]
    body = [
        json.dumps([row[c] for c in columns], ensure_ascii=False, separators=(",", ":"))
        for row in rows
    ]
    return lines[0] + ",\n" + lines[1] + "\n" + lines[2] + "\n" + ",\n".join(body) + "\n]}\n"


def write_outputs(out: Path, nsi: dict[str, Any], *, strict: bool = True) -> dict[str, int]:
    merchants, institutions = build(nsi, strict=strict)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": f"nsi-{nsi['_meta']['version']}",
        "generated_by": "tools/build_merchant_directory.py",
    }
    (out / "merchants.json").write_text(dump_table(MERCHANT_COLUMNS, merchants, meta), "utf-8")
    (out / "institutions.json").write_text(
        dump_table(INSTITUTION_COLUMNS, institutions, meta), "utf-8"
    )
    mcc = [{"code": c, "description": d} for c, d in mcc_rows()]
    (out / "mcc.json").write_text(dump_table(("code", "description"), mcc, meta), "utf-8")
    if PFC_SOURCE.exists():
        shutil.copyfile(PFC_SOURCE, out / "plaid_pfc_v2.tsv")
    return {"merchants": len(merchants), "institutions": len(institutions), "mcc": len(mcc)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nsi",
        type=Path,
        help="name-suggestion-index tarball or unpacked package (default: npm pack the pin)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument(
        "--unmapped", action="store_true", help="list NSI paths with no category mapping"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary directory and fail if --out differs (stale data)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nsi-") as tmp:
        if args.nsi is not None and not args.nsi.exists():
            raise SystemExit(f"--nsi {args.nsi}: no such file or directory")
        try:
            source = args.nsi or fetch_nsi(Path(tmp))
        except (OSError, subprocess.SubprocessError) as exc:
            raise SystemExit(
                f"cannot fetch {NSI_PACKAGE}@{NSI_VERSION} with npm ({exc}); "
                "download the tarball elsewhere and pass --nsi"
            ) from None
        try:
            nsi = read_nsi(source)
        except (OSError, KeyError, ValueError, tarfile.TarError) as exc:
            raise SystemExit(f"{source}: not a name-suggestion-index package ({exc})") from None
    if nsi.get("_meta", {}).get("version") != NSI_VERSION:
        print(
            f"warning: NSI version {nsi.get('_meta', {}).get('version')} != pinned {NSI_VERSION}",
            file=sys.stderr,
        )
    if args.unmapped:
        _, _, unmapped = collect_nsi(nsi)
        for path, name in unmapped:
            print(f"{path}\t{name}")
        return 0
    if args.check:
        with tempfile.TemporaryDirectory(prefix="directory-") as tmp:
            write_outputs(Path(tmp), nsi)
            stale = [
                name
                for name in ("merchants.json", "institutions.json", "mcc.json")
                if not (args.out / name).exists()
                or (args.out / name).read_bytes() != (Path(tmp) / name).read_bytes()
            ]
        if stale:
            print(
                f"stale: {', '.join(stale)} in {args.out}; rerun without --check", file=sys.stderr
            )
            return 1
        print(f"up to date: {args.out}")
        return 0
    counts = write_outputs(args.out, nsi)
    print(" ".join(f"{k}={v}" for k, v in counts.items()), f"→ {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
