"""Write docs/data-dictionary.md from the feed schemas (src/sightline/ingest/schemas.py)."""

from __future__ import annotations

from pathlib import Path

from sightline.ingest.dictionary import render

TARGET = Path(__file__).resolve().parent.parent / "docs" / "data-dictionary.md"

if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
