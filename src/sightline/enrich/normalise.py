"""Descriptor normalisation: from a raw statement line to its parts.

Two stages:

1. :func:`descriptor_key` reduces a raw descriptor to a *key* by removing what varies between
   transactions at the same merchant (dates, store/reference/phone numbers, masked card numbers)
   and collapsing spaces. The same regexes run inside the compute engine (:func:`key_sql`), so a
   batch enriches each distinct key once and joins the result back; ``descriptor_key(x)`` and the
   SQL give the same key (``tests/enrich/test_normalise.py`` keeps them equal).
2. :func:`parse` splits a key into what the matcher needs: the merchant text without card words,
   processor prefixes, ACH fields or trailing city/state, plus flags (refund words, ACH entry
   description, the text after a ``*``).
"""

from __future__ import annotations

import bisect
import gzip
import re
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files

# --- stage 1: the key (Python and SQL share these patterns; RE2-compatible: no look-arounds) ---

# Removed outright (replaced by a space): dates, phone numbers, "#123", "STORE 123", amounts.
_NOISE = (
    r"[0-9]{1,2}/[0-9]{1,2}(/[0-9]{2,4})?"  # 04/12, 04/12/2026
    r"|\(?[0-9]{3}\)?[-. ][0-9]{3}[-. ][0-9]{4}"  # 800-555-1234, (800) 555-1234
    r"|1-[0-9]{3}-[0-9]{3}-[0-9]{4}"
    r"|[0-9]{3}-[0-9]{7}"  # 877-7781161
    r"|#[ ]?[A-Z0-9-]*[0-9][A-Z0-9-]*"  # #1234, # 55, #A12
    r"|\$[0-9,]+(\.[0-9]{2})?"
    r"|[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?( ?[AP]M)?"  # times
    r"|-[0-9]{4,}"  # T-1234 (store numbers after a hyphen; 1-800-FLOWERS keeps its 800)
)
# A token holding three or more digits: store, reference, card, zip numbers. 7-ELEVEN and
# PHILLIPS 66 keep their digits (fewer than three); aliases go through the same function, so
# 1-800-FLOWERS is compared as "1- -FLOWERS" on both sides.
_NUMBERY = r"\b[A-Z]*[0-9][A-Z]*[0-9][A-Z]*[0-9][A-Z0-9]*\b"
# One pass removes both (the same leftmost-first alternation in RE2 and in Python).
_STRIP = _NOISE + "|" + _NUMBERY
# Whitespace runs: two or more, or a single tab or newline; single spaces need no rewrite, which
# keeps the SQL pass cheap.
_SPACES = r"[ \t\n\r\f\v]{2,}|[\t\n\r\f\v]"


def descriptor_key(raw: str) -> str:
    """The engine-independent key of a descriptor (uppercase, noise removed, spaces collapsed)."""
    text = raw.upper().replace("'", "")
    if any(c.isdigit() or c == "#" or c == "$" for c in text):  # else nothing to remove
        text = _STRIP_RE.sub(" ", text)
    return " ".join(text.split())


# The same pattern for Python's engine: a look-ahead lets it skip positions that cannot start a
# match (about three times faster); tests keep the Python and SQL keys equal.
_STRIP_RE = re.compile(r"(?=[0-9(#$A-Z-])(?:" + _STRIP + ")")
_SPACES_RE = re.compile(r"\s+")


def key_sql(column: str) -> str:
    """The DuckDB SQL expression computing :func:`descriptor_key` of ``column``."""

    def lit(pattern: str) -> str:
        return "'" + pattern.replace("'", "''") + "'"

    expr = f"replace(upper({column}), '''', '')"
    expr = f"regexp_replace({expr}, {lit(_STRIP)}, ' ', 'g')"
    return f"trim(regexp_replace({expr}, {lit(_SPACES)}, ' ', 'g'))"


KEY_PATTERNS = (_STRIP, _SPACES)

# --- stage 2: parsing a key ---

# Card and channel words that open a descriptor; removed repeatedly (longest first).
_LEAD_WORDS = (
    "RECURRING PAYMENT AUTHORIZED ON",
    "PURCHASE RETURN AUTHORIZED ON",
    "PURCHASE AUTHORIZED ON",
    "PAYMENT AUTHORIZED ON",
    "AUTHORIZED ON",
    "DEBIT CARD PURCHASE",
    "DEBIT CARD RECURRING",
    "DEBIT CARD DEBIT",
    "DEBIT CARD",
    "DEBIT PURCHASE",
    "CHECK CARD PURCHASE",
    "CHECKCARD PURCHASE",
    "CHECKCARD",
    "CHECK CARD",
    "CARD PURCHASE WITH PIN",
    "CARD PURCHASE",
    "POS PURCHASE",
    "POS DEBIT",
    "POS WITHDRAWAL",
    "POS REFUND",
    "POS RETURN",
    "POS",
    "POINT OF SALE DEBIT",
    "POINT OF SALE",
    "VISA DDA PUR",
    "VISA DDA",
    "VISA PURCHASE",
    "VISA DEBIT",
    "VISA",
    "MC DEBIT",
    "MASTERCARD DEBIT",
    "DBT CRD",
    "DBT PURCHASE",
    "DBT",
    "NON-PIN PURCHASE",
    "NON-PIN",
    "PIN PURCHASE",
    "PIN",
    "SIG PURCHASE",
    "RECURRING PURCHASE",
    "RECURRING PAYMENT",
    "RECURRING PMT",
    "RECURRING DEBIT",
    "RECURRING",
    "PURCHASE",
    "PREAUTHORIZED DEBIT",
    "INTL",
)
_LEAD_RE = re.compile(
    r"^(?:" + "|".join(re.escape(w) for w in sorted(_LEAD_WORDS, key=len, reverse=True)) + r")\b"
)
# Words that end a descriptor and say nothing about the merchant.
_TRAIL_WORDS = (
    "CARD",
    "RECURRING",
    "PURCHASE",
    "DEBIT",
    "POS",
    "APPLE PAY",
    "GOOGLE PAY",
    "SAMSUNG PAY",
    "CONTACTLESS",
    "TAP",
    "USA",
    "PENDING",
    "STORE NO",
    "REF",
    "X",
    "-",
    "*",
)
_TRAIL_RE = re.compile(
    r"(?:\s+|^)(?:"
    + "|".join(re.escape(w) for w in sorted(_TRAIL_WORDS, key=len, reverse=True))
    + r")$"
)


class Guarded:
    """A regex tried only when one of its necessary substrings occurs (``in`` is far cheaper
    than a failing search through a long alternation)."""

    __slots__ = ("needles", "pattern")

    def __init__(self, pattern: str, needles: tuple[str, ...]) -> None:
        self.pattern = re.compile(pattern)
        self.needles = needles

    def search(self, text: str) -> re.Match[str] | None:
        for needle in self.needles:
            if needle in text:
                return self.pattern.search(text)
        return None

    def sub(self, repl: str, text: str) -> str:
        for needle in self.needles:
            if needle in text:
                return self.pattern.sub(repl, text)
        return text


_REFUND_RE = Guarded(
    r"\b(?:REFUND|RETURN|REVERSAL|REVERSED|REVERSE|CREDIT VOUCHER|CHARGEBACK"
    r"|MERCHANDISE CREDIT|MERCH CREDIT|PURCHASE RETURN|CREDIT ADJUSTMENT|RFND|CR ADJ)\b",
    ("REF", "RETURN", "REVERS", "CREDIT", "CHARGEBACK", "RFND", "CR ADJ"),
)
_ACH_MARKERS = re.compile(r"\b(?:ORIG CO NAME|CO ENTRY DESCR|DES|INDN|CO ID|PPD ID|WEB ID)\s?:")
_ACH_FIELD = re.compile(
    r"\b(ORIG CO NAME|CO ENTRY DESCR|CO NAME|ENTRY DESCR|DESC DATE|ORIG ID|IND NAME|IND ID|"
    r"INDN|DES|CO ID|PPD ID|WEB ID|CCD ID|TEL ID|ID|SEC|TRACE|EED|TRN|CONF)\s?[:#]"
)
_DES = re.compile(r"\bDES\s?:")
_SEC_ID = re.compile(r"\b(?:PPD|WEB|CCD|TEL)\s?ID\s?:")
_SEC_CODES = re.compile(r"\b(?:PPD|WEB|CCD|TEL|CTX|ARC|BOC|POP|RCK|IAT)\b")
_STORE_WORDS = re.compile(r"\b(?:STORE NO|STORE #|UNIT|LOC|T-)\s*$")
_PUNCT_EDGES = re.compile(r"^[\s*#\-.,:/]+|[\s*#\-.,:/]+$")
_INNER_STAR = re.compile(r"\s*\*\s*")


@dataclass(frozen=True, slots=True)
class AchFields:
    company: str
    entry: str


@dataclass(frozen=True, slots=True)
class Parsed:
    key: str
    """The descriptor key (stage 1)."""
    text: str
    """Merchant text: card words, processor prefix, ACH fields and city/state removed."""
    head: str
    """Text before the first ``*`` (a processor or platform), or empty."""
    tail: str
    """Text after the first ``*``, or empty."""
    city: str | None
    state: str | None
    ach: AchFields | None
    refund_words: bool
    lead_words: tuple[str, ...]
    """Card words removed from the start (``POS``, ``CHECKCARD``, ``RECURRING``...)."""


US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "VI",
        "GU",
    ]
)


@cache
def _sorted_cities(state: str) -> list[str]:
    return sorted(us_places().get(state, ()))


def warm_up() -> None:
    """Load the lazily built tables now (a server does it at start, not on a request)."""
    for state in us_places():
        _sorted_cities(state)
    all_city_names()


def _city_by_prefix(state: str, prefix: str) -> str | None:
    """The one city of ``state`` whose name starts with ``prefix`` (a truncated city field)."""
    cities = _sorted_cities(state)
    i = bisect.bisect_left(cities, prefix)
    found: list[str] = []
    while i < len(cities) and cities[i].startswith(prefix) and len(found) < 2:
        found.append(cities[i])
        i += 1
    return found[0] if len(found) == 1 else None


@cache
def all_city_names() -> frozenset[str]:
    """Every city name of every state (to tell a city from a word of a merchant name)."""
    return frozenset().union(*us_places().values())


@cache
def us_places() -> dict[str, frozenset[str]]:
    """State → UPPERCASE city names (from ``us_places.tsv.gz``; see tools/build_us_places.py)."""
    data = files("sightline.enrich").joinpath("us_places.tsv.gz").read_bytes()
    out: dict[str, frozenset[str]] = {}
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        state, _, cities = line.partition("\t")
        names = set(cities.split("|"))
        for name in list(names):
            for long, short in _CITY_ABBREVIATIONS:
                if name.startswith(long):
                    names.add(short + name[len(long) :])
        out[state] = frozenset(names)
    return out


_CITY_ABBREVIATIONS = (
    ("SAINT ", "ST "),
    ("FORT ", "FT "),
    ("MOUNT ", "MT "),
    ("NORTH ", "N "),
    ("SOUTH ", "S "),
    ("EAST ", "E "),
    ("WEST ", "W "),
    ("PORT ", "PT "),
)


def split_location(text: str) -> tuple[str, str | None, str | None]:
    """``"JOES DINER SPRINGFIELD IL"`` → ``("JOES DINER", "SPRINGFIELD", "IL")``.

    The state is a trailing two-letter code; the city is the longest run of up to four tokens
    before it that is a city of that state. A state without a known city is taken only when the
    text keeps at least one word. Nothing is removed when no state ends the text.
    """
    tokens = text.split(" ")
    if len(tokens) < 2:
        return text, None, None
    last = tokens[-1]
    country_dropped = False
    if last in ("US", "USA") and len(tokens) > 2 and tokens[-2] in US_STATES:
        tokens = tokens[:-1]
        last = tokens[-1]
        country_dropped = True
    if last not in US_STATES:
        return (" ".join(tokens) if country_dropped else text), None, None
    state = last
    rest = tokens[:-1]
    cities = us_places().get(state, frozenset())
    for size in range(min(4, len(rest) - 1), 0, -1):
        candidate = " ".join(rest[-size:]).replace(".", "").replace("-", " ")
        if candidate in cities:
            return " ".join(rest[:-size]), candidate, state
    for size in range(min(3, len(rest) - 1), 0, -1):
        # the city field is 13 characters on card statements: COLORADO SPRI, SALT LAKE CIT
        candidate = " ".join(rest[-size:])
        if len(candidate) >= 9:
            full = _city_by_prefix(state, candidate)
            if full is not None:
                return " ".join(rest[:-size]), full, state
    if len(rest) >= 1:
        return " ".join(rest), None, state
    return text, None, None


def _strip_lead(text: str) -> tuple[str, tuple[str, ...]]:
    removed: list[str] = []
    while True:
        m = _LEAD_RE.match(text)
        if not m:
            return text, tuple(removed)
        removed.append(m.group(0))
        text = text[m.end() :].lstrip(" -*:")


def _strip_trail(text: str) -> str:
    while True:
        new = _TRAIL_RE.sub("", text).rstrip(" -*#.,:/")
        if new == text:
            return text
        text = new


def parse_ach(key: str) -> AchFields | None:
    """Company name and entry description of an ACH descriptor, in the common bank layouts:

    ``ORIG CO NAME:X ORIG ID:.. DESC DATE:.. CO ENTRY DESCR:Y SEC:PPD ...`` (Chase),
    ``X DES:Y ID:.. INDN:.. CO ID:.. PPD`` (Bank of America),
    ``X Y PPD ID: ..`` / ``X Y WEB ID: ..`` (Chase online view, Wells Fargo).
    Individual names (``INDN``, ``IND NAME``) are never kept.
    """
    if "ORIG CO NAME" in key or "CO ENTRY DESCR" in key:
        fields: dict[str, str] = {}
        matches = list(_ACH_FIELD.finditer(key))
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(key)
            fields[m.group(1)] = key[m.end() : end].strip()
        company = fields.get("ORIG CO NAME") or fields.get("CO NAME") or ""
        entry = fields.get("CO ENTRY DESCR") or fields.get("ENTRY DESCR") or ""
        if company:
            return AchFields(_clean_ach(company), _clean_ach(entry))
        return None
    des = _DES.search(key)
    if des:
        company = key[: des.start()].strip()
        rest = key[des.end() :]
        nxt = _ACH_FIELD.search(rest)
        entry = rest[: nxt.start()] if nxt else rest
        return AchFields(_clean_ach(company), _clean_ach(_SEC_CODES.sub("", entry)))
    sec = _SEC_ID.search(key)
    if sec:
        body = key[: sec.start()].strip()
        return AchFields(_clean_ach(body), "")
    return None


def _clean_ach(text: str) -> str:
    text = _SEC_CODES.sub(" ", text)
    return _SPACES_RE.sub(" ", text).strip(" -*:,.")


def clean_merchant_text(text: str) -> str:
    """Card words, trailing noise and stray punctuation off a merchant fragment."""
    text, _ = _strip_lead(text.strip())
    text = _strip_trail(text)
    text = _STORE_WORDS.sub("", text)
    return _PUNCT_EDGES.sub("", _SPACES_RE.sub(" ", text)).strip()


def parse(key: str) -> Parsed:
    """Split a descriptor key into merchant text, location and flags."""
    refund = bool(_REFUND_RE.search(key))
    ach = parse_ach(key)
    city = state = None
    if ach is not None:
        body = _strip_trail(ach.company)
        lead: tuple[str, ...] = ()
    else:
        body, lead = _strip_lead(key)
        body, city, state = split_location(_strip_trail(body))
        body = _strip_trail(body)
        if city and body.endswith(city):  # "JOES DINER - SPRINGFIELD SPRINGFIELD IL"
            body = _strip_trail(body[: -len(city)])
    head = tail = ""
    if "*" in body:
        left, _, right = body.partition("*")
        head = clean_merchant_text(left)
        tail = clean_merchant_text(right.replace("*", " "))
        body = _INNER_STAR.sub(" ", body)
    return Parsed(
        key=key,
        text=clean_merchant_text(body),
        head=head,
        tail=tail,
        city=city,
        state=state,
        ach=ach,
        refund_words=refund,
        lead_words=lead,
    )


def without_refund_words(p: Parsed) -> Parsed:
    """The same parse with refund/reversal words taken out of the merchant text."""

    def strip(text: str) -> str:
        return clean_merchant_text(_REFUND_RE.sub(" ", text)) if text else text

    return replace(p, text=strip(p.text), head=strip(p.head), tail=strip(p.tail))


_SMALL_WORDS = frozenset(["A", "AN", "AND", "AT", "BY", "FOR", "IN", "OF", "ON", "OR", "THE", "TO"])
_KEEP_UPPER = frozenset(
    [
        "BBQ",
        "CVS",
        "TJ",
        "TJS",
        "USA",
        "US",
        "LLC",
        "IHOP",
        "KFC",
        "AMC",
        "BP",
        "ATM",
        "ATT",
        "AT&T",
        "H&M",
        "DSW",
        "ABC",
        "NYC",
        "LA",
        "DC",
        "HVAC",
        "PC",
        "TV",
        "CPA",
        "MD",
        "DDS",
        "DMV",
        "IRS",
        "UPS",
        "USPS",
        "PNC",
        "TD",
        "BMO",
        "ESPN",
        "HBO",
    ]
)


def title_name(text: str) -> str:
    """A readable name from an uppercase fragment: ``JOES BBQ & GRILL`` → ``Joes BBQ & Grill``."""
    words = []
    for i, word in enumerate(text.split()):
        if word in _KEEP_UPPER:
            words.append(word)
        elif i > 0 and word in _SMALL_WORDS:
            words.append(word.lower())
        elif not any(c in "AEIOUY" for c in word) and word.isalpha() and len(word) <= 3:
            words.append(word)
        else:
            titled = "-".join(part.capitalize() for part in word.split("-"))
            if titled.startswith("Mc") and len(titled) > 3:
                titled = "Mc" + titled[2].upper() + titled[3:]
            words.append(titled)
    return " ".join(words)
