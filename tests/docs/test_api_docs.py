"""The route index in docs/api.md is generated from the OpenAPI document; fails when stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_api_route_index_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "tools/gen_api_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs/api.md").read_text()
    assert current == module.render(current), (
        "docs/api.md is stale: run .venv/bin/python tools/gen_api_docs.py"
    )
