"""A tiny directory with the interface of ``sightline.enrich.directory`` for generator tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FakeMerchant:
    merchant_id: str
    name: str
    category_group: str
    category: str
    mccs: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    kind: str = "brand"
    domain: str | None = None


@dataclass(frozen=True)
class FakeInstitution:
    institution_id: str
    name: str
    type: str
    products: tuple[str, ...]
    statement_names: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class FakeCategory:
    category_group: str
    category: str


@dataclass(frozen=True)
class FakeDirectory:
    merchants: tuple[FakeMerchant, ...]
    institutions: tuple[FakeInstitution, ...]
    categories: tuple[FakeCategory, ...] = ()


M = FakeMerchant
I = FakeInstitution  # noqa: E741

# fmt: off
FAKE_DIRECTORY = FakeDirectory(
    merchants=(
        M("starbucks", "Starbucks", "Food & Dining", "Coffee Shops", ("5814",), ("STARBUCKS",)),
        M("dunkin", "Dunkin'", "Food & Dining", "Coffee Shops", ("5814",)),
        M("mcdonalds", "McDonald's", "Food & Dining", "Fast Food", ("5814",)),
        M("chick_fil_a", "Chick-fil-A", "Food & Dining", "Fast Food", ("5814",)),
        M("olive_garden", "Olive Garden", "Food & Dining", "Restaurants", ("5812",)),
        M("kroger", "Kroger", "Food & Dining", "Groceries", ("5411",)),
        M("whole_foods", "Whole Foods Market", "Food & Dining", "Groceries", ("5411",)),
        M("walmart", "Walmart Supercenter", "Shopping", "Superstores", ("5311",)),
        M("target", "Target", "Shopping", "Superstores", ("5310",)),
        M("shell", "Shell", "Auto & Transport", "Gas Stations", ("5541",)),
        M("exxon", "ExxonMobil", "Auto & Transport", "Gas Stations", ("5541",)),
        M("cvs", "CVS Pharmacy", "Health", "Pharmacies", ("5912",)),
        M(
            "amazon",
            "Amazon",
            "Shopping",
            "Online Marketplaces",
            ("5942",),
            ("AMZN MKTP US",),
            "marketplace",
            "amazon.com",
        ),
        M(
            "etsy",
            "Etsy",
            "Shopping",
            "Online Marketplaces",
            ("5969",),
            (),
            "marketplace",
            "etsy.com",
        ),
        M("home_depot", "The Home Depot", "Home", "Home Improvement", ("5200",)),
        M("lowes", "Lowe's", "Home", "Home Improvement", ("5200",)),
        M("petsmart", "PetSmart", "Pets", "Pet Stores", ("5995",)),
        M(
            "steam",
            "Steam",
            "Entertainment",
            "Video Games",
            ("5816",),
            (),
            "online",
            "steampowered.com",
        ),
        M(
            "netflix",
            "Netflix",
            "Entertainment",
            "Streaming Video",
            ("4899",),
            (),
            "subscription",
            "netflix.com",
        ),
        M(
            "spotify",
            "Spotify",
            "Entertainment",
            "Music & Audio",
            ("5815",),
            (),
            "subscription",
            "spotify.com",
        ),
        M(
            "doordash",
            "DoorDash",
            "Food & Dining",
            "Food Delivery",
            ("5812",),
            (),
            "delivery",
            "doordash.com",
        ),
        M(
            "uber_eats",
            "Uber Eats",
            "Food & Dining",
            "Food Delivery",
            ("5812",),
            ("UBER *EATS",),
            "delivery",
        ),
        M("uber", "Uber", "Auto & Transport", "Ride Share & Taxi", ("4121",), ("UBER *TRIP",)),
        M("delta", "Delta Air Lines", "Travel", "Airlines", ("3058",), (), "travel"),
        M("marriott", "Marriott", "Travel", "Hotels", ("3509",), (), "travel"),
        M("buybuy_baby", "buybuy BABY", "Kids & Family", "Baby & Kids Clothing", ("5641",)),
        M("kay", "Kay Jewelers", "Shopping", "Jewelry & Accessories", ("5944",)),
        M("uhaul", "U-Haul", "Home", "Storage & Moving", ("4214",)),
        M("planet_fitness", "Planet Fitness", "Sports & Fitness", "Gyms & Fitness", ("7997",)),
        M(
            "duke_energy",
            "Duke Energy",
            "Bills & Utilities",
            "Electricity & Gas",
            ("4900",),
            (),
            "utility",
        ),
        M("comcast", "Xfinity", "Bills & Utilities", "Internet & Cable", ("4899",), (), "utility"),
        M(
            "verizon",
            "Verizon Wireless",
            "Bills & Utilities",
            "Mobile Phone",
            ("4814",),
            (),
            "utility",
        ),
    ),
    institutions=(
        I(
            "wells_fargo",
            "Wells Fargo",
            "bank",
            ("mortgage", "auto_loan", "credit_card", "deposit"),
            {
                "mortgage": ("WELLS FARGO HOME MTG",),
                "credit_card": ("WF CREDIT CARD",),
                "auto_loan": ("WF AUTO",),
            },
        ),
        I(
            "chase",
            "Chase",
            "bank",
            ("mortgage", "credit_card", "auto_loan"),
            {"credit_card": ("CHASE CREDIT CRD",), "mortgage": ("CHASE MORTGAGE",)},
        ),
        I("citi", "Citi", "card_issuer", ("credit_card",), {"credit_card": ("CITI CARD",)}),
        I(
            "ally",
            "Ally",
            "bank",
            ("auto_loan", "deposit"),
            {"auto_loan": ("ALLY PAYMENT",), "deposit": ("ALLY BANK",)},
        ),
        I(
            "navient",
            "Navient",
            "student_loan_servicer",
            ("student_loan",),
            {"student_loan": ("NAVIENT",)},
        ),
        I(
            "sofi",
            "SoFi",
            "personal_lender",
            ("personal_loan", "student_loan"),
            {"personal_loan": ("SOFI",)},
        ),
        I(
            "schwab",
            "Charles Schwab",
            "brokerage",
            ("investment",),
            {"investment": ("SCHWAB BROKERAGE",)},
        ),
        I("geico", "GEICO", "insurer", ("insurance",), {"insurance": ("GEICO",)}),
        I(
            "state_farm",
            "State Farm",
            "insurer",
            ("insurance",),
            {"insurance": ("STATE FARM RO 27",)},
        ),
        I("zelle", "Zelle", "p2p", ("p2p",), {"p2p": ("ZELLE",)}),
        I("venmo", "Venmo", "p2p", ("p2p",), {"p2p": ("VENMO",)}),
        I("cash_app", "Cash App", "p2p", ("p2p",), {"p2p": ("CASH APP",)}),
        I("paypal", "PayPal", "p2p", ("p2p",), {"p2p": ("PAYPAL",)}),
        I("affirm", "Affirm", "bnpl", ("bnpl",), {"bnpl": ("AFFIRM",)}),
        I("coinbase", "Coinbase", "crypto", ("crypto",), {"crypto": ("COINBASE.COM",)}),
        I("earnin", "EarnIn", "ewa", ("ewa",), {"ewa": ("EARNIN",)}),
        I(
            "advance_america",
            "Advance America",
            "payday",
            ("payday",),
            {"payday": ("ADVANCE AMERICA",)},
        ),
        I(
            "amex",
            "American Express",
            "card_issuer",
            ("credit_card",),
            {"credit_card": ("AMEX EPAYMENT",)},
        ),
        I("heloc_bank", "Third Federal", "bank", ("heloc",), {"heloc": ("THIRD FEDERAL",)}),
    ),
)
# fmt: on
