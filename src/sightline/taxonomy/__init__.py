"""The KLI taxonomy: a tree of opaque, stable integer codes.

The codes live in the committed, append-only registry ``sightline/data/kli_registry.csv``; the
builder (``sightline taxonomy build``) derives the tree from the merchant directory and the fixed
branch definitions and only ever appends new codes. At run time the tree is read from the
registry alone (``load_taxonomy()``, cached), so nothing here imports the directory.
"""

from __future__ import annotations

from sightline.taxonomy.loader import (
    Kli,
    Taxonomy,
    code_for,
    load_taxonomy,
    merchant_kli_codes,
)
from sightline.taxonomy.registry import (
    COMPETITIVE_BANKS,
    COMPETITIVE_FI_PRODUCTS,
    CONSUMER_MORTGAGE_LOAN,
    CONSUMER_SPEND,
    FIXED_CODES,
)

__all__ = [
    "COMPETITIVE_BANKS",
    "COMPETITIVE_FI_PRODUCTS",
    "CONSUMER_MORTGAGE_LOAN",
    "CONSUMER_SPEND",
    "FIXED_CODES",
    "Kli",
    "Taxonomy",
    "code_for",
    "load_taxonomy",
    "merchant_kli_codes",
]
