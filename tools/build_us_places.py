"""Rebuild ``src/sightline/enrich/us_places.tsv.gz``: US city names per state.

The merchant-cleansing normaliser uses it to tell a trailing ``CITY ST`` from the merchant name.
Source: the PyPI package ``zipcodes`` (MIT licence; USPS ZIP code list with city names). Run with
the package importable, e.g. ``pip install zipcodes && python tools/build_us_places.py``.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from pathlib import Path

from sightline.enrich.normalise import US_STATES

OUT = Path(__file__).resolve().parents[1] / "src/sightline/enrich/us_places.tsv.gz"
KEEP_STATES = set(US_STATES)
CITY = re.compile(r"[A-Z][A-Z .'\-]*[A-Z]")


def main() -> None:
    import zipcodes  # type: ignore[import-not-found]

    places: dict[str, set[str]] = defaultdict(set)
    for row in zipcodes.list_all():
        state = row["state"]
        if state not in KEEP_STATES:
            continue
        for name in [row["city"], *(row.get("acceptable_cities") or [])]:
            city = re.sub(r"\s+", " ", name.upper().replace("'", "").replace(".", "")).strip()
            if CITY.fullmatch(city):
                places[state].add(city)
    lines = [f"{state}\t{'|'.join(sorted(places[state]))}" for state in sorted(places)]
    header = "# US city names per state; source: PyPI package zipcodes (MIT licence)\n"
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write(header + "\n".join(lines) + "\n")
    print(f"wrote {OUT} ({sum(len(v) for v in places.values())} places)")


if __name__ == "__main__":
    main()
