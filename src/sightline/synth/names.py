"""Small built-in word lists for synthetic people, places and local businesses.

Everything here is invented or generic: the generator combines these words, so no real person's
data is ever produced. Merchant and institution names come from the merchant directory instead.
"""

from __future__ import annotations

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Sandra", "Mark", "Margaret", "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily",
    "Paul", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Sharon",
    "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Dorothy", "Jacob", "Amy", "Gary", "Kathleen",
    "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Emma", "Stephen", "Brenda", "Larry",
    "Pamela", "Justin", "Nicole", "Scott", "Anna", "Brandon", "Samantha", "Benjamin", "Katherine",
    "Samuel", "Christine", "Gregory", "Debra", "Alexander", "Rachel", "Patrick", "Carolyn",
    "Frank", "Janet", "Raymond", "Maria", "Jack", "Olivia", "Dennis", "Heather", "Jerry", "Helen",
    "Tyler", "Catherine", "Aaron", "Diane", "Jose", "Julie", "Adam", "Victoria", "Nathan", "Joyce",
    "Henry", "Lauren", "Zachary", "Kelly", "Douglas", "Christina", "Peter", "Ruth", "Kyle", "Joan",
    "Noah", "Virginia", "Ethan", "Judith", "Jeremy", "Evelyn", "Christian", "Hannah", "Walter",
    "Andrea", "Keith", "Megan", "Austin", "Cheryl", "Roger", "Jacqueline", "Terry", "Madison",
    "Sean", "Teresa", "Gerald", "Abigail", "Carl", "Sophia", "Dylan", "Martha", "Harold", "Sara",
    "Jordan", "Gloria", "Jesse", "Janice", "Bryan", "Kathryn", "Lawrence", "Ann", "Arthur",
    "Isabella", "Gabriel", "Judy", "Bruce", "Charlotte", "Logan", "Julia", "Billy", "Grace",
    "Joe", "Amber", "Alan", "Alice", "Juan", "Jean", "Elijah", "Denise", "Willie", "Frances",
    "Albert", "Danielle", "Wayne", "Marilyn", "Randy", "Natalie", "Mason", "Beverly", "Vincent",
    "Diana", "Liam", "Brittany", "Roy", "Theresa", "Bobby", "Kayla", "Caleb", "Alexis", "Bradley",
    "Doris", "Russell", "Lori", "Lucas", "Tiffany", "Carlos", "Rosa", "Luis", "Mei", "Wei",
    "Priya", "Raj", "Aisha", "Omar", "Fatima", "Hiroshi", "Yuki", "Diego", "Lucia", "Mateo",
    "Camila", "Andre", "Keisha", "DeShawn", "Imani", "Tariq", "Nadia", "Sven", "Ingrid",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
    "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed",
    "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez",
    "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell",
    "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander",
    "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes",
    "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray",
    "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez", "McDonald", "Woods",
    "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman", "Webb", "Tucker",
    "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter", "Gordon", "Mendez",
    "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks", "Holmes", "Palmer",
    "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills",
    "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens", "Soto",
    "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins",
    "O'Brien", "O'Connor", "Wang", "Zhang", "Singh", "Kowalski", "Novak", "Johansson", "Yamamoto",
    "Okafor", "Haddad", "Rossi", "Dubois", "Schneider", "Larsen", "Lindqvist", "Nakamura",
)  # fmt: skip

STREET_NAMES = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Sunset", "Lincoln", "Jackson", "Church", "Highland", "Forest", "River", "Meadow",
    "Spring", "Willow", "Ridge", "Chestnut", "Franklin", "Jefferson", "Madison", "Cherry",
    "Laurel", "Sycamore", "Birch", "Magnolia", "Mill", "Center", "Prospect", "Valley", "Dogwood",
)  # fmt: skip
STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Ter")

# (city, state, first three ZIP digits, area code): places where customers live and shop.
CITIES = (
    ("Austin", "TX", "787", "512"), ("Houston", "TX", "770", "713"), ("Dallas", "TX", "752", "214"),
    ("San Antonio", "TX", "782", "210"), ("Phoenix", "AZ", "850", "602"),
    ("Tucson", "AZ", "857", "520"), ("Denver", "CO", "802", "303"),
    ("Colorado Springs", "CO", "809", "719"), ("Seattle", "WA", "981", "206"),
    ("Spokane", "WA", "992", "509"), ("Portland", "OR", "972", "503"),
    ("Sacramento", "CA", "958", "916"), ("San Diego", "CA", "921", "619"),
    ("Fresno", "CA", "937", "559"), ("Los Angeles", "CA", "900", "213"),
    ("Las Vegas", "NV", "891", "702"), ("Salt Lake City", "UT", "841", "801"),
    ("Boise", "ID", "837", "208"), ("Albuquerque", "NM", "871", "505"),
    ("Omaha", "NE", "681", "402"), ("Kansas City", "MO", "641", "816"),
    ("St Louis", "MO", "631", "314"), ("Minneapolis", "MN", "554", "612"),
    ("Milwaukee", "WI", "532", "414"), ("Chicago", "IL", "606", "312"),
    ("Indianapolis", "IN", "462", "317"), ("Columbus", "OH", "432", "614"),
    ("Cleveland", "OH", "441", "216"), ("Detroit", "MI", "482", "313"),
    ("Grand Rapids", "MI", "495", "616"), ("Pittsburgh", "PA", "152", "412"),
    ("Philadelphia", "PA", "191", "215"), ("Buffalo", "NY", "142", "716"),
    ("Albany", "NY", "122", "518"), ("Boston", "MA", "021", "617"),
    ("Hartford", "CT", "061", "860"), ("Baltimore", "MD", "212", "410"),
    ("Richmond", "VA", "232", "804"), ("Raleigh", "NC", "276", "919"),
    ("Charlotte", "NC", "282", "704"), ("Atlanta", "GA", "303", "404"),
    ("Nashville", "TN", "372", "615"), ("Memphis", "TN", "381", "901"),
    ("Louisville", "KY", "402", "502"), ("Birmingham", "AL", "352", "205"),
    ("New Orleans", "LA", "701", "504"), ("Tampa", "FL", "336", "813"),
    ("Orlando", "FL", "328", "407"), ("Jacksonville", "FL", "322", "904"),
    ("Miami", "FL", "331", "305"), ("Oklahoma City", "OK", "731", "405"),
    ("Little Rock", "AR", "722", "501"), ("Des Moines", "IA", "503", "515"),
    ("Ocean City", "MD", "218", "410"), ("Myrtle Beach", "SC", "295", "843"),
)  # fmt: skip

# Places abroad where travellers' card purchases happen (city, country or province code).
FOREIGN_CITIES = (
    ("London", "GB"), ("Paris", "FR"), ("Cancun", "MX"), ("Toronto", "ON"), ("Vancouver", "BC"),
    ("Rome", "IT"), ("Madrid", "ES"), ("Dublin", "IE"), ("Tokyo", "JP"), ("San Jose", "CR"),
)  # fmt: skip

# Local-business name parts. ``{p}`` is a person's first name, ``{s}`` a street or place word.
PLACE_WORDS = (
    "Main St", "Oak Street", "Riverside", "Harbor", "Lakeside", "Hilltop", "Old Town",
    "Maple", "Cedar", "Sunset", "Westside", "Eastside", "Northgate", "Southpoint", "Pine Ridge",
    "Blue Heron", "Red Barn", "Golden Gate", "Silver Lake", "Green Valley", "Copper", "Ironwood",
    "Pirate's Cove", "Lighthouse", "Mountain View", "Prairie", "Willow Creek", "Twin Oaks",
)  # fmt: skip

# (category_group, category, MCC, name patterns): the businesses no directory lists.
LOCAL_TEMPLATES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Food & Dining", "Mexican", "5812",
     ("{p}'s Taqueria", "Taqueria {s}", "El {p} Cantina", "{s} Burrito Co")),
    ("Food & Dining", "Pizza", "5814",
     ("{p}'s Pizza", "{s} Pizzeria", "Zeeks Pizza {s}", "{s} Slice House")),
    ("Food & Dining", "Restaurants", "5812",
     ("{s} Grill", "{p}'s Diner", "The {s} Kitchen", "{s} Bistro", "{p}'s Family Restaurant")),
    ("Food & Dining", "Sushi & Asian", "5812",
     ("{s} Sushi", "Pho {s}", "{s} Thai Kitchen", "Golden Wok {s}", "{s} Ramen Bar")),
    ("Food & Dining", "Coffee Shops", "5814",
     ("{s} Coffee Roasters", "{p}'s Cafe", "The {s} Bean", "{s} Espresso Bar")),
    ("Food & Dining", "Bakeries & Desserts", "5462",
     ("{p}'s Bakery", "{s} Donuts", "{s} Creamery", "Sweet {p}'s Cupcakes")),
    ("Food & Dining", "Bars & Nightlife", "5813",
     ("{s} Tavern", "The {s} Pub", "{s} Brewing Co", "{p}'s Taproom")),
    ("Food & Dining", "Groceries", "5411",
     ("{s} Market", "{p}'s Corner Grocery", "{s} Fresh Foods")),
    ("Food & Dining", "Liquor Stores", "5921", ("{s} Wine & Spirits", "{p}'s Liquor")),
    ("Home", "Home Improvement", "5251", ("{s} Hardware", "{p}'s Lumber & Supply")),
    ("Home", "Storage & Moving", "4214",
     ("{s} Movers", "{p} & Sons Moving", "{s} Self Storage")),
    ("Home", "Home Services", "1711",
     ("{s} Plumbing", "{p}'s Heating & Air", "{s} Roofing LLC", "{p}'s Handyman")),
    ("Home", "Lawn & Garden", "0780", ("{s} Landscaping", "{p}'s Lawn Care")),
    ("Entertainment", "Miniature Golf", "7999", ("{s} Mini Golf", "{s} Putt Putt")),
    ("Entertainment", "Bowling", "7933", ("{s} Lanes", "{s} Bowl")),
    ("Sports & Fitness", "Gyms & Fitness", "7997",
     ("{s} CrossFit", "{s} Yoga Studio", "{p}'s Boxing Gym")),
    ("Personal Care", "Hair & Beauty", "7230",
     ("{p}'s Salon", "{s} Barber Shop", "Nails by {p}")),
    ("Personal Care", "Laundry & Dry Cleaning", "7216", ("{s} Cleaners", "{s} Laundromat")),
    ("Pets", "Veterinary", "0742", ("{s} Animal Hospital", "{s} Veterinary Clinic")),
    ("Pets", "Pet Services", "0742", ("{p}'s Dog Grooming", "{s} Pet Resort")),
    ("Auto & Transport", "Auto Service & Repair", "7538",
     ("{s} Auto Repair", "{p}'s Tire & Auto", "{s} Transmission")),
    ("Auto & Transport", "Car Dealers", "5511",
     ("{s} Toyota", "{s} Ford", "{s} Honda", "{s} Chevrolet", "{s} Auto Sales")),
    ("Auto & Transport", "Car Wash", "7542", ("{s} Car Wash", "{s} Auto Spa")),
    ("Health", "Dentists", "8021", ("{s} Family Dental", "{s} Dental Group")),
    ("Health", "Doctors", "8011", ("{s} Medical Group", "{s} Pediatrics")),
    ("Shopping", "Jewelry & Accessories", "5944",
     ("{p}'s Fine Jewelry", "{s} Jewelers", "{s} Diamond Co")),
    ("Shopping", "Clothing", "5651", ("{s} Boutique", "{p}'s Closet")),
    ("Shopping", "Florists", "5992", ("{s} Florist", "{p}'s Flowers")),
    ("Shopping", "Gift Shops", "5947", ("{s} Gifts", "{s} Candle Co")),
    ("Kids & Family", "Baby & Kids Clothing", "5641",
     ("{s} Baby Boutique", "Little {p}'s Kids Shop")),
    ("Kids & Family", "Childcare", "8351",
     ("{s} Daycare", "{s} Learning Center", "Little Sprouts {s}")),
    ("Entertainment", "Recreation", "7999",
     ("{s} Event Center", "{s} Manor Events", "{s} Trampoline Park")),
    ("Shopping", "Books & News", "5942", ("{s} Books", "{p}'s Bookshop")),
    ("Shopping", "Second-Hand & Pawn", "5932", ("{s} Antiques", "{s} Pawn")),
    ("Education", "Tuition", "8220",
     ("University of {s}", "{s} Community College", "{s} State University")),
)  # fmt: skip

ONLINE_SHOP_WORDS = (
    "Blue Fern", "Wild Oat", "Urban Nest", "Copper Moon", "Little Fox", "Salt & Pine", "Honey Bee",
    "North Star", "Velvet Sky", "Maple Leaf", "River Stone", "Sunny Side", "Olive Branch",
)  # fmt: skip
ONLINE_SHOP_NOUNS = (
    "Candle Co", "Apparel", "Jewelry", "Ceramics", "Soap Co", "Tea Co", "Outfitters", "Prints",
    "Pet Supply", "Skincare", "Knits", "Leather Goods",
)  # fmt: skip

EMPLOYER_WORDS = (
    "Summit", "Pioneer", "Atlas", "Keystone", "Riverbend", "Evergreen", "Cornerstone", "Liberty",
    "Apex", "Horizon", "Sterling", "Frontier", "Granite", "Beacon", "Meridian", "Northwind",
    "Redwood", "Bluewater", "Crescent", "Heritage", "Lakeshore", "Ironbridge", "Clearview",
)  # fmt: skip
EMPLOYER_NOUNS = (
    "Logistics", "Health System", "Manufacturing", "Construction", "Dental Group", "Software",
    "Engineering", "Foods", "Insurance Agency", "Medical Center", "Electric", "Realty",
    "School District", "Hospitality", "Industries", "Credit Services", "Labs", "Packaging",
)  # fmt: skip
EMPLOYER_SUFFIXES = ("Inc", "LLC", "Corp", "Co", "Group", "")

BUSINESS_NOUNS = (
    "Bakery", "Plumbing", "Landscaping", "Consulting", "Auto Body", "Dental", "Design Studio",
    "Catering", "Cleaning Services", "Construction", "Photography", "Fitness", "Accounting",
    "Trucking", "Florist", "Coffee House", "Barber Shop", "Hardware", "Law Office", "Realty",
)  # fmt: skip
