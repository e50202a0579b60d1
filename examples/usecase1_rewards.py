"""Use case 1 — rewards program: the merchants where the FI's customers shop (the Consumer Spend
branch, 8616194) and how many customers shop at each.

    python examples/usecase1_rewards.py --base-url http://127.0.0.1:8000 --partner demo-cu \
        --key sk_... [--top 25] [--json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _kli_client import check, client, get, pages, parser

CONSUMER_SPEND = 8616194


def merchants_with_counts(http: httpx.Client, partner: str) -> list[dict[str, Any]]:
    """Merchant leaves under Consumer Spend in use by the partner's customers, then each
    merchant's customer count from ``kli_details/{code}``; most customers first."""
    base = f"/kli/v1/partners/{partner}"
    leaves = pages(
        http,
        f"{base}/kli_assignments/{CONSUMER_SPEND}/children",
        kli_class="PUBLIC",
        kli_is_competitive="N",
        kli_is_leaf="Y",
        limit=1000,
    )
    out = []
    for leaf in leaves:
        detail = get(http, f"{base}/kli_details/{leaf['kli_code']}")
        category = detail["parents"][0]["kli_name"] if detail["parents"] else ""
        out.append(
            {
                "kli_code": detail["kli_code"],
                "merchant": detail["kli_name"],
                "category": category,
                "ucic_count": detail["ucic_count"],
            }
        )
    return sorted(out, key=lambda m: (-m["ucic_count"], m["merchant"]))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--top", type=int, default=25, help="How many merchants to print.")
    p.add_argument("--json", action="store_true", help="Print every merchant as JSON.")
    args = p.parse_args(argv)
    check(args, p)
    with client(args.base_url, args.key) as http:
        rows = merchants_with_counts(http, args.partner)
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{len(rows)} merchants where customers shop (top {args.top}):")
    print(f"{'customers':>9}  {'kli_code':>10}  merchant (category)")
    for m in rows[: args.top]:
        print(f"{m['ucic_count']:>9}  {m['kli_code']:>10}  {m['merchant']} ({m['category']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
