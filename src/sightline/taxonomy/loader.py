"""The taxonomy in memory: read once from the registry, indexed for the API's tree queries."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sightline.errors import NotFound
from sightline.taxonomy.registry import RegistryRow, read_registry

PUBLIC = "PUBLIC"
PRIVATE = "PRIVATE"


@dataclass(frozen=True, slots=True)
class Kli:
    kli_code: int
    key: str
    kli_name: str
    kli_description: str
    parent_kli_code: int | None
    kli_class: str
    kli_is_competitive: str
    kli_is_leaf: str

    @classmethod
    def from_row(cls, row: RegistryRow) -> Kli:
        return cls(
            kli_code=row.kli_code,
            key=row.key,
            kli_name=row.kli_name,
            kli_description=row.kli_description,
            parent_kli_code=row.parent_kli_code,
            kli_class=PUBLIC,
            kli_is_competitive=row.kli_is_competitive,
            kli_is_leaf=row.kli_is_leaf,
        )


@dataclass
class Taxonomy:
    """A forest of KLIs with parent/children indexes. Immutable once built."""

    nodes: dict[int, Kli]
    by_key: dict[str, int] = field(default_factory=dict)
    children: dict[int, tuple[int, ...]] = field(default_factory=dict)
    roots: tuple[int, ...] = ()
    _ancestors: dict[int, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _descendants: dict[int, tuple[int, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_klis(cls, klis: Iterable[Kli]) -> Taxonomy:
        nodes = {k.kli_code: k for k in klis}
        kids: dict[int, list[int]] = {}
        roots = []
        for kli in nodes.values():
            if kli.parent_kli_code is None or kli.parent_kli_code not in nodes:
                roots.append(kli.kli_code)
            else:
                kids.setdefault(kli.parent_kli_code, []).append(kli.kli_code)
        return cls(
            nodes=nodes,
            by_key={k.key: k.kli_code for k in nodes.values()},
            children={p: tuple(sorted(c)) for p, c in kids.items()},
            roots=tuple(sorted(roots)),
        )

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, code: object) -> bool:
        return code in self.nodes

    def __iter__(self) -> Iterator[Kli]:
        return iter(self.nodes.values())

    def get(self, code: int) -> Kli:
        try:
            return self.nodes[code]
        except KeyError:
            raise NotFound(f"KLI {code} not found.") from None

    def code_for(self, key: str) -> int:
        try:
            return self.by_key[key]
        except KeyError:
            raise KeyError(f"no KLI with key {key!r} in the registry") from None

    def ancestors(self, code: int) -> tuple[int, ...]:
        """Parents from the immediate parent up to the root."""
        found = self._ancestors.get(code)
        if found is None:
            chain = []
            parent = self.nodes[code].parent_kli_code
            while parent is not None and parent in self.nodes and parent not in chain:
                chain.append(parent)
                parent = self.nodes[parent].parent_kli_code
            found = tuple(chain)
            self._ancestors[code] = found
        return found

    def descendants(self, code: int) -> tuple[int, ...]:
        """Every node below ``code`` (not itself), depth first, children in code order."""
        found = self._descendants.get(code)
        if found is None:
            out: list[int] = []
            stack = list(reversed(self.children.get(code, ())))
            while stack:
                node = stack.pop()
                out.append(node)
                stack.extend(reversed(self.children.get(node, ())))
            found = tuple(out)
            self._descendants[code] = found
        return found

    def closure(self, codes: Iterable[int]) -> set[int]:
        """The codes plus all their ancestors."""
        out: set[int] = set()
        for code in codes:
            if code in self.nodes:
                out.add(code)
                out.update(self.ancestors(code))
        return out

    def overlay(self, extra: Iterable[Kli]) -> Taxonomy:
        """This taxonomy plus some (PRIVATE) KLIs: a new object, this one is left untouched."""
        extra = list(extra)
        if not extra:
            return self
        return Taxonomy.from_klis([*self.nodes.values(), *extra])


@functools.cache
def _load(path: Path | None) -> Taxonomy:
    return Taxonomy.from_klis(Kli.from_row(r) for r in read_registry(path))


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The shipped (PUBLIC) taxonomy, read once per process from the registry."""
    return _load(path)


def code_for(key: str) -> int:
    """The code of a registry key such as ``merchant:starbucks`` (``KeyError`` if absent)."""
    return load_taxonomy().code_for(key)


@functools.cache
def merchant_kli_codes() -> dict[str, int]:
    """merchant_id → the merchant's Consumer Spend leaf code (what enrichment stamps)."""
    prefix = "merchant:"
    return {
        kli.key.removeprefix(prefix): kli.kli_code
        for kli in load_taxonomy()
        if kli.key.startswith(prefix)
    }
