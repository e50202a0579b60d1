"""Spreadsheet formula-injection neutralisation for every CSV Sightline writes.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return, which some
spreadsheets strip before evaluating) is run as a formula when the file is opened. Such cells are
prefixed with a single quote, as OWASP recommends; numbers such as ``-12.50`` are left alone
because they are data, not formulas. Use :func:`safe_cell` / :func:`safe_row` before any export.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def safe_cell(value: Any) -> Any:
    """The value, with a leading quote when a spreadsheet would run it as a formula."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_PREFIXES) and not _NUMBER.match(value):
        return "'" + value
    return value


def safe_row(values: Sequence[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (RFC 4180 quoting) with every cell neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(safe_row(list(header)))
    for row in rows:
        writer.writerow(safe_row(["" if v is None else v for v in row]))
    return buf.getvalue()
