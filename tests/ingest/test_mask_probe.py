"""The run's table of masked values is probed as integers when the values are digit strings."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sightline.ingest.pipeline import _digits, _MaskTable


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.text("0123456789", max_size=20), unique=True, max_size=30),
    values=st.lists(st.one_of(st.none(), st.text("0123456789 -+x", max_size=20)), max_size=40),
)
def test_masked_value_positions_match_a_text_probe(
    keys: list[str], values: list[str | None]
) -> None:
    """Digit strings are probed as integers ("1" + digits, so "007" and "7" stay apart); any
    other value, or a key of 19+ digits, falls back to the text probe: same positions."""
    key_array = pa.array(keys, pa.string())
    table = _MaskTable(key_array, key_array, key_array, _digits(key_array))
    got = table.positions(pa.array(values, pa.string()))
    assert got.to_pylist() == [keys.index(v) if v in keys else None for v in values]


def test_leading_zeros_and_long_numbers_stay_apart() -> None:
    keys = pa.array(["007", "7", "4111111111111111"], pa.string())
    ints = _digits(keys)
    assert ints is not None and ints.to_pylist() == [1007, 17, 14111111111111111]
    assert _digits(pa.array(["1234567890123456789"])) is None  # 19 digits: text probe
    table = _MaskTable(keys, keys, keys, ints)
    values = pa.array(["7", "007", None, "4111111111111111", "8"], pa.string())
    assert table.positions(values).to_pylist() == [1, 0, None, 2, None]
