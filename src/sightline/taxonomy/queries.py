"""Tree queries the KLI API needs: filtered descendants, parents, and a partner's own view."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sightline.errors import BadRequest
from sightline.taxonomy.loader import PRIVATE, PUBLIC, Kli, Taxonomy

YES_NO = ("Y", "N")
CLASSES = (PUBLIC, PRIVATE)


@dataclass(frozen=True, slots=True)
class KliFilter:
    """``kli_class`` / ``kli_is_competitive`` / ``kli_is_leaf``; ``None`` means any."""

    kli_class: str | None = None
    kli_is_competitive: str | None = None
    kli_is_leaf: str | None = None

    @classmethod
    def parse(
        cls,
        kli_class: str | None = None,
        kli_is_competitive: str | None = None,
        kli_is_leaf: str | None = None,
    ) -> KliFilter:
        """Validate raw query values (case-insensitive); a bad one is a 400 naming it."""
        problems = []
        values: dict[str, str | None] = {}
        for name, raw, allowed in (
            ("kli_class", kli_class, CLASSES),
            ("kli_is_competitive", kli_is_competitive, YES_NO),
            ("kli_is_leaf", kli_is_leaf, YES_NO),
        ):
            value = None if raw is None or raw == "" else raw.strip().upper()
            if value is not None and value not in allowed:
                problems.append(f"Field {name} must be one of {', '.join(allowed)} (got {raw!r}).")
            values[name] = value
        if problems:
            raise BadRequest(*problems)
        return cls(**values)

    @property
    def active(self) -> bool:
        return any(
            v is not None for v in (self.kli_class, self.kli_is_competitive, self.kli_is_leaf)
        )

    def matches(self, kli: Kli) -> bool:
        return (
            (self.kli_class is None or kli.kli_class == self.kli_class)
            and (
                self.kli_is_competitive is None or kli.kli_is_competitive == self.kli_is_competitive
            )
            and (self.kli_is_leaf is None or kli.kli_is_leaf == self.kli_is_leaf)
        )


def children_of(tree: Taxonomy, code: int, flt: KliFilter) -> list[int]:
    """The nodes a ``…/{kli_code}/children`` call is about.

    Without a filter: the direct children. With any filter: every node at ANY depth below
    ``code`` that matches all given filters (so Consumer Spend with ``kli_is_leaf=Y`` is the
    merchant leaves under its category nodes).
    """
    tree.get(code)
    if not flt.active:
        return list(tree.children.get(code, ()))
    return [c for c in tree.descendants(code) if flt.matches(tree.nodes[c])]


def filter_codes(tree: Taxonomy, codes: Iterable[int], flt: KliFilter) -> list[int]:
    return [c for c in codes if c in tree.nodes and flt.matches(tree.nodes[c])]


def parents_of(tree: Taxonomy, code: int) -> list[Kli]:
    """Parents from the immediate parent up to the root."""
    return [tree.nodes[p] for p in tree.ancestors(code)]
