"""docs/data-dictionary.md is generated from the schemas; this fails when it is stale."""

from __future__ import annotations

from pathlib import Path

from sightline.ingest.dictionary import render
from sightline.ingest.schemas import FEEDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"


def test_data_dictionary_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/data-dictionary.md is stale: run `python tools/gen_data_dictionary.py`"
    )


def test_every_field_is_documented() -> None:
    text = render()
    for schema in FEEDS.values():
        assert f"## {schema.name}" in text
        for f in schema.fields:
            assert f"| `{f.name}` |" in text
