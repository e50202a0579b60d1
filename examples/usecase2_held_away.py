"""Use case 2 — held-away assets for a relationship manager: one customer's products at competing
institutions (Competitive FI Products, 39668008) and the competing banks (Competitive Banks,
8847985).

    python examples/usecase2_held_away.py --partner demo-cu --key sk_... --ucic C000123 [--json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _kli_client import check, client, pages, parser

COMPETITIVE_FI_PRODUCTS = 39668008
COMPETITIVE_BANKS = 8847985


def held_away(http: httpx.Client, partner: str, ucic: str) -> dict[str, list[dict[str, Any]]]:
    base = f"/kli/v1/partners/{partner}/ucics/{ucic}/kli_assignments"
    flt = {"kli_is_competitive": "Y", "kli_is_leaf": "Y"}
    products = list(pages(http, f"{base}/{COMPETITIVE_FI_PRODUCTS}/children", **flt))
    banks = list(pages(http, f"{base}/{COMPETITIVE_BANKS}/children", **flt))

    def slim(item: dict[str, Any]) -> dict[str, Any]:
        keep = ("kli_code", "kli_name", "first_assigned", "last_assigned", "strength")
        return {k: item[k] for k in keep}

    return {"products": [slim(i) for i in products], "banks": [slim(i) for i in banks]}


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--ucic", required=True, help="The customer's ucic.")
    p.add_argument("--json", action="store_true", help="Print JSON.")
    args = p.parse_args(argv)
    check(args, p)
    with client(args.base_url, args.key) as http:
        found = held_away(http, args.partner, args.ucic)
    if args.json:
        print(json.dumps(found))
        return 0
    print(f"Customer {args.ucic}")
    print("  held-away products:")
    for item in found["products"] or [{"kli_name": "(none found)", "first_assigned": ""}]:
        print(f"    {item['kli_name']}  since {item['first_assigned']}")
    print("  competing institutions:")
    for item in found["banks"] or [{"kli_name": "(none found)", "first_assigned": ""}]:
        print(f"    {item['kli_name']}  since {item['first_assigned']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
