"""The committed, append-only KLI code registry (``sightline/data/kli_registry.csv``).

One row per KLI ever published. A row's ``kli_code``, ``key`` and ``kli_name`` never change and a
row is never removed; the builder may refresh the description, the parent and the flags. New
codes are allocated from :data:`BASE` upwards (next = highest allocated + 1) in the order the
builder meets new keys; the four codes existing clients rely on are pinned in
:data:`FIXED_CODES`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

REGISTRY_FILE = "kli_registry.csv"
COLUMNS = (
    "kli_code",
    "key",
    "kli_name",
    "kli_description",
    "parent_kli_code",
    "kli_is_competitive",
    "kli_is_leaf",
)

CONSUMER_SPEND = 8616194
COMPETITIVE_FI_PRODUCTS = 39668008
COMPETITIVE_BANKS = 8847985
CONSUMER_MORTGAGE_LOAN = 8616201

# key → (code, name): fixed by existing clients; a test fails if any of them changes.
FIXED_CODES: dict[str, tuple[int, str]] = {
    "branch:consumer_spend": (CONSUMER_SPEND, "Consumer Spend"),
    "branch:competitive_fi_products": (COMPETITIVE_FI_PRODUCTS, "Competitive FI Products"),
    "branch:competitive_banks": (COMPETITIVE_BANKS, "Competitive Banks"),
    "fi_product:mortgage": (CONSUMER_MORTGAGE_LOAN, "Consumer Mortgage Loan"),
}

BASE = 100_000_001
"""First code handed out to a new public key (well clear of the fixed codes)."""


class RegistryError(ValueError):
    """The registry file is malformed or a change would break a published code."""


@dataclass(frozen=True, slots=True)
class RegistryRow:
    kli_code: int
    key: str
    kli_name: str
    kli_description: str
    parent_kli_code: int | None
    kli_is_competitive: str
    kli_is_leaf: str

    def as_csv(self) -> list[str]:
        return [
            str(self.kli_code),
            self.key,
            self.kli_name,
            self.kli_description,
            "" if self.parent_kli_code is None else str(self.parent_kli_code),
            self.kli_is_competitive,
            self.kli_is_leaf,
        ]


def packaged_registry_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / REGISTRY_FILE


def parse_registry(text: str, *, source: str = REGISTRY_FILE) -> list[RegistryRow]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise RegistryError(f"{source}: header must be {','.join(COLUMNS)}")
    rows: list[RegistryRow] = []
    seen_codes: set[int] = set()
    seen_keys: set[str] = set()
    for line_no, rec in enumerate(reader, start=2):
        if not rec:
            continue
        if len(rec) != len(COLUMNS):
            raise RegistryError(f"{source}:{line_no}: expected {len(COLUMNS)} fields")
        try:
            code = int(rec[0])
            parent = int(rec[4]) if rec[4] else None
        except ValueError:
            raise RegistryError(
                f"{source}:{line_no}: kli_code/parent_kli_code not an integer"
            ) from None
        if rec[5] not in ("Y", "N") or rec[6] not in ("Y", "N"):
            raise RegistryError(f"{source}:{line_no}: flags must be Y or N")
        if code in seen_codes or rec[1] in seen_keys:
            raise RegistryError(f"{source}:{line_no}: duplicate kli_code or key ({code}, {rec[1]})")
        seen_codes.add(code)
        seen_keys.add(rec[1])
        rows.append(RegistryRow(code, rec[1], rec[2], rec[3], parent, rec[5], rec[6]))
    for row in rows:
        if row.parent_kli_code is not None and row.parent_kli_code not in seen_codes:
            raise RegistryError(
                f"{source}: {row.kli_code} has unknown parent {row.parent_kli_code}"
            )
    return rows


def read_registry(path: Path | None = None) -> list[RegistryRow]:
    path = path or packaged_registry_path()
    if not path.is_file():
        return []
    return parse_registry(path.read_text(encoding="utf-8"), source=str(path))


def render_registry(rows: list[RegistryRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.as_csv())
    return out.getvalue()


def write_registry(rows: list[RegistryRow], path: Path | None = None) -> None:
    path = path or packaged_registry_path()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_registry(rows), encoding="utf-8")
    tmp.replace(path)


def check_append_only(old: list[RegistryRow], new: list[RegistryRow]) -> list[str]:
    """Problems that would break published codes: a code gone, or its key or name changed."""
    by_code = {r.kli_code: r for r in new}
    problems = []
    for row in old:
        now = by_code.get(row.kli_code)
        if now is None:
            problems.append(f"kli_code {row.kli_code} ({row.key}) disappeared")
        elif (now.key, now.kli_name) != (row.key, row.kli_name):
            problems.append(
                f"kli_code {row.kli_code} changed meaning: {row.key!r}/{row.kli_name!r} → "
                f"{now.key!r}/{now.kli_name!r}"
            )
    for key, (code, name) in FIXED_CODES.items():
        now = by_code.get(code)
        if now is None or now.key != key or now.kli_name != name:
            problems.append(f"fixed kli_code {code} must be {key!r} named {name!r}")
    return problems
