"""The one place rule output meets the taxonomy: a rule's key template + values → a KLI code."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from sightline.insights.rules import (
    BandRule,
    CategorySpendRule,
    CompetitiveActivityRule,
    CompetitiveProductRule,
    MerchantActivityRule,
    ProductHoldingRule,
    Rule,
    ScoreRule,
    slugify,
)

CodeLookup = Callable[[str], int | None]
"""A key such as ``merchant:target`` → its KLI code, or None when the taxonomy lacks it."""


def key_fields(rule: Rule, k1: str | None, k2: str | None) -> dict[str, str]:
    """The values a rule's key template may use, from the rule row's ``k1``/``k2``."""
    a, b = k1 or "", k2 or ""
    if isinstance(rule, MerchantActivityRule):
        return {"merchant_id": a}
    if isinstance(rule, CategorySpendRule):
        return {"group": a, "category": b, "group_slug": slugify(a), "category_slug": slugify(b)}
    if isinstance(rule, CompetitiveProductRule | CompetitiveActivityRule):
        return {"institution_id": a, "fi_product": b}
    if isinstance(rule, ProductHoldingRule):
        return {"product": a}
    if isinstance(rule, BandRule):
        return {"band": a, "attribute": rule.attribute.value}
    if isinstance(rule, ScoreRule):
        return {"band": a}
    return {}


def key_for(rule: Rule, key_no: int, k1: str | None, k2: str | None) -> str:
    return rule.key_templates()[key_no].format(**key_fields(rule, k1, k2))


@cache
def _taxonomy_codes() -> dict[str, int]:
    from sightline.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    out: dict[str, int] = {}
    for kli in taxonomy:
        key = getattr(kli, "key", None)
        if key:
            out[key] = kli.kli_code
    return out


def taxonomy_lookup() -> CodeLookup:
    """Codes from the packaged KLI registry (:mod:`sightline.taxonomy`)."""
    codes = _taxonomy_codes()
    return codes.get


def map_lookup(codes: dict[str, int]) -> CodeLookup:
    """A lookup over an explicit map (tests, custom taxonomies)."""
    return codes.get
