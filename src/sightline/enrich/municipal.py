"""Municipal utilities: a city's water, sewer and trash bill, printed under the city's name.

Cities bill their utilities through ACH under forms that name no directory brand: ``CITY OF
AUSTIN UTIL`` cut to 16 characters (``CITY OF AUSTIN U``, ``CITY OF INDIANAP``), the water
department (``TUCSON WATER``, ``KANSAS CIT WATER``) or an acronym (``COA UTILITIES TX``, the City
of Austin). All of them are one counterparty, named here ``City of <City> Utilities``, in
Bills & Utilities / Water. After ``CITY OF`` the city must be a US place (a name cut by the field
must start exactly one of the largest cities listed below, or else exactly one place); before
``WATER`` it must be one of the listed cities, so ``BLUE WATER`` stays a business.

A ``CITY OF <city>`` line counts as the utility when a utility word follows the city (``U``,
``UT``, ``UTIL``, ``UTILITIES``, ``WATER``...; a word the line spells out in full other than
UTILITIES is kept: ``CITY OF SPRINGFIELD UTILITY`` is "City of Springfield Utility"), or when the
16-character company field was cut right after it and no directory payee has that name (a city's
recurring ACH debits are its utility bills). A tax, fine or permit line says so (``TAX``,
``COURT``, ``PARKING``, ``PERMIT``) and keeps the city's own name. A water department's name
(``TUCSON WATER``) also yields to a directory brand (``DENVER WATER`` is Denver Water).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cache

from sightline.enrich.normalise import all_city_names

# The largest US cities (2020 census, about the first 150) and the state capitals, as statements
# spell them (no periods: ST LOUIS).
MAJOR_CITIES = (
    "New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio",
    "San Diego", "Dallas", "San Jose", "Austin", "Jacksonville", "Fort Worth", "Columbus",
    "Indianapolis", "Charlotte", "San Francisco", "Seattle", "Denver", "Washington",
    "Nashville", "Oklahoma City", "El Paso", "Boston", "Portland", "Las Vegas", "Detroit",
    "Memphis", "Louisville", "Baltimore", "Milwaukee", "Albuquerque", "Tucson", "Fresno",
    "Sacramento", "Kansas City", "Mesa", "Atlanta", "Omaha", "Colorado Springs", "Raleigh",
    "Long Beach", "Virginia Beach", "Miami", "Oakland", "Minneapolis", "Tulsa", "Bakersfield",
    "Wichita", "Arlington", "Aurora", "Tampa", "New Orleans", "Cleveland", "Honolulu",
    "Anaheim", "Lexington", "Stockton", "Corpus Christi", "Henderson", "Riverside", "Newark",
    "St Paul", "Santa Ana", "Cincinnati", "Irvine", "Orlando", "Pittsburgh", "St Louis",
    "Greensboro", "Jersey City", "Anchorage", "Lincoln", "Plano", "Durham", "Buffalo",
    "Chandler", "Chula Vista", "Toledo", "Madison", "Gilbert", "Reno", "Fort Wayne",
    "North Las Vegas", "St Petersburg", "Lubbock", "Irving", "Laredo", "Winston Salem",
    "Chesapeake", "Glendale", "Garland", "Scottsdale", "Norfolk", "Boise", "Fremont",
    "Spokane", "Santa Clarita", "Baton Rouge", "Richmond", "Hialeah", "San Bernardino",
    "Tacoma", "Modesto", "Huntsville", "Des Moines", "Yonkers", "Rochester", "Moreno Valley",
    "Fayetteville", "Fontana", "Worcester", "Port St Lucie", "Little Rock", "Augusta",
    "Oxnard", "Birmingham", "Montgomery", "Frisco", "Amarillo", "Salt Lake City",
    "Grand Rapids", "Huntington Beach", "Overland Park", "Tallahassee", "Grand Prairie",
    "McKinney", "Cape Coral", "Sioux Falls", "Peoria", "Providence", "Vancouver", "Knoxville",
    "Akron", "Shreveport", "Mobile", "Brownsville", "Newport News", "Fort Lauderdale",
    "Chattanooga", "Tempe", "Santa Rosa", "Eugene", "Elk Grove", "Salem", "Ontario", "Cary",
    "Rancho Cucamonga", "Oceanside", "Lancaster", "Garden Grove", "Pembroke Pines",
    "Fort Collins", "Palmdale", "Springfield", "Clarksville", "Rockford", "Alexandria",
    "Hartford", "Albany", "Harrisburg", "Trenton", "Annapolis", "Dover", "Charleston",
    "Columbia", "Jackson", "Frankfort", "Topeka", "Lansing", "Olympia", "Carson City",
    "Santa Fe", "Cheyenne", "Helena", "Bismarck", "Pierre", "Juneau", "Montpelier", "Concord",
    "Jefferson City", "Saint Paul",
)  # fmt: skip

# Acronyms cities bill under (COA: City of Austin).
ACRONYMS = {"COA UTILITIES": "Austin", "COA UTILITY": "Austin"}

_UTILITY_WORD = re.compile(
    r"^(?:U|UT|UTI|UTIL|UTILI|UTILIT|UTILITI|UTILITIE|UTILITY|UTILITIES|UTILS|UTL|WATER|WTR"
    r"|PUBLIC UTIL\w*|PUBLIC WORKS|DEPT OF UTIL\w*|WATER UTIL\w*|WATER DEPT|WATER SVC\w*"
    r"|WATER SERVICES?|WATER & SEWER|WATER SEWER|SEWER|UB|UTILITY BILL)$"
)
_WATER = re.compile(r"^(?P<place>[A-Z][A-Z ]*?) (?:WATER|WTR)(?: (?P<rest>.*))?$")
_WATER_REST = re.compile(r"^(?:UTIL\w*|DEPT|DEPARTMENT|SVC|SVCS|SERVICES?|BILL|UB)$")
_CITY_OF = re.compile(r"^CITY OF (?P<rest>[A-Z][A-Z ]*)$")
_ENTRY_UTILITY = re.compile(r"\b(?:UTILITIES|UTILITY|UTIL|WATER|WTR|SEWER)\b")
_NOT_UTILITY = re.compile(r"\b(?:TAX|TAXES|COURT|PARKING|PERMIT|FINE|TICKET|LICENSE|PARKS|REC)\b")


@cache
def _cities() -> tuple[tuple[str, ...], dict[str, str]]:
    forms = {c.upper(): c for c in MAJOR_CITIES}
    forms |= {k.replace("SAINT ", "ST "): v for k, v in forms.items() if k.startswith("SAINT ")}
    return tuple(sorted(forms)), forms


def city_name(form: str, *, cut: bool, any_place: bool = False) -> str | None:
    """The listed city ``form`` names (``SAN ANTONIO``), or, when the field was ``cut``, the one
    listed city it starts (``INDIANAP``, ``KANSAS CIT``); with ``any_place`` also any US place
    of :func:`us_places` (``CITY OF OCEAN CI``). None otherwise."""
    names, display = _cities()
    if form in display:
        return display[form]
    if cut and len(form) >= 4:
        i = bisect.bisect_left(names, form)
        found = []
        while i < len(names) and names[i].startswith(form):
            found.append(names[i])
            i += 1
        if len(found) == 1:
            return display[found[0]]
        if found:
            return None
    if not any_place:
        return None
    places = _all_places()
    if form in places:
        return _title(form)
    if not cut or len(form) < 6:
        return None
    i = bisect.bisect_left(places, form)
    found = []
    while i < len(places) and places[i].startswith(form) and len(found) < 2:
        found.append(places[i])
        i += 1
    return _title(found[0]) if len(found) == 1 else None


@cache
def _all_places() -> tuple[str, ...]:
    return tuple(sorted(all_city_names()))


def _title(text: str) -> str:
    return " ".join(w if w == "&" else w.capitalize() for w in text.split(" "))


def utility_name(city: str) -> str:
    return f"City of {city} Utilities"


@dataclass(frozen=True, slots=True)
class MunicipalUtility:
    name: str
    explicit: bool
    """False when only the cut of the field (``CITY OF HOUSTON``) or a water department's name
    (``TUCSON WATER``) says so: a directory payee of that name comes first."""


def municipal_utility(
    company: str, *, field_width: int = 16, entry: str = ""
) -> MunicipalUtility | None:
    """The city utility an ACH company name (match form) is, or None. ``field_width``: the ACH
    company-name width, to tell a name the field cut (``CITY OF INDIANAP``) from a complete one;
    a longer text (company and entry run together) is also read as its first ``field_width``
    characters. ``entry``: the ACH entry description; a utility word there (``CITY OF DETROIT
    DES:UTILITIES``) makes any ``CITY OF`` name its city's utility."""
    if not company or _NOT_UTILITY.search(company):
        return None
    if entry and _CITY_OF.match(company) and _ENTRY_UTILITY.search(entry):
        named = _utility(company, field_width) or _utility(f"{company} UTILITIES", field_width)
        if named is not None:
            return MunicipalUtility(named.name, True)
    found = _utility(company, field_width)
    after = company[field_width:].split()
    if found is None and after and _UTILITY_WORD.match(after[0]):
        # CITY OF SAN ANTO UTILITIES: the cut company name, then the entry description
        found = _utility(company[:field_width].rstrip(), field_width)
        if found is not None:
            found = MunicipalUtility(found.name, True)
    return found


def _utility(company: str, field_width: int) -> MunicipalUtility | None:
    for acronym, named in ACRONYMS.items():
        if company == acronym or company.startswith(acronym + " "):
            return MunicipalUtility(utility_name(named), True)
    cut = len(company) >= field_width - 1
    m = _CITY_OF.match(company)
    if m:
        words = m.group("rest").split(" ")
        # the longest run of words that is a city, the rest a utility word
        for n in range(len(words), 0, -1):
            place = " ".join(words[:n])
            rest = " ".join(words[n:])
            city = city_name(place, cut=cut and not rest, any_place=True)
            if city is None or (rest and not _UTILITY_WORD.match(rest)):
                continue
            if rest and not "UTILITIES".startswith(rest):
                # the line spells its own word out: CITY OF SPRINGFIELD UTILITY, ... WATER
                return MunicipalUtility(f"City of {city} {_title(rest)}", True)
            if rest or cut:
                return MunicipalUtility(utility_name(city), bool(rest))
        return None
    m = _WATER.match(company)
    if m:
        rest = m.group("rest") or ""
        if rest and not all(_WATER_REST.match(w) for w in rest.split(" ")):
            return None
        place = m.group("place")
        # KANSAS CIT WATER: the city cut to fit the 16-character field
        city = city_name(place, cut=len(place) >= 8)
        if city is not None:
            return MunicipalUtility(utility_name(city), False)
    return None
