"""Use cases 1-3: the example scripts, run against a live server on loopback, answer what the
published assignments say."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pyarrow.parquet as pq
import pytest
import uvicorn

from sightline.api.app import create_app
from sightline.api.context import AppContext
from sightline.taxonomy import code_for, load_taxonomy
from tests.conftest import PartnerKey
from tests.taxonomy.factories import HELD_AWAY, Assignments, publish_demo

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def truth(context: AppContext, acme: PartnerKey, globex: PartnerKey) -> Assignments:
    return publish_demo(context)


@pytest.fixture
def live(context: AppContext, truth: Assignments) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(context=context), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def run_json(capsys: pytest.CaptureFixture[str], name: str, args: list[str]) -> object:
    assert example(name).main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_usecase1_rewards(
    live: str, acme: PartnerKey, truth: Assignments, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = run_json(
        capsys,
        "usecase1_rewards",
        ["--base-url", live, "--partner", "acme", "--key", acme.secret],
    )
    assert isinstance(rows, list)
    tree = load_taxonomy()
    merchants = {c for _, c, _, _ in truth.rows if tree.nodes.get(c) and
                 tree.nodes[c].key.startswith("merchant:")}  # fmt: skip
    assert {r["kli_code"]: r["ucic_count"] for r in rows} == {
        c: len(truth.holders(c)) for c in merchants
    }
    assert rows[0]["merchant"] == "Starbucks" and rows[0]["category"] == "Coffee Shops"


def test_usecase1_as_a_program_with_env(live: str, acme: PartnerKey, truth: Assignments) -> None:
    env = {**os.environ, "SIGHTLINE_URL": live, "SIGHTLINE_PARTNER": "acme",
           "SIGHTLINE_KEY": acme.secret}  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "usecase1_rewards.py"), "--top", "2"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "4 merchants where customers shop" in done.stdout
    assert "Starbucks (Coffee Shops)" in done.stdout


def test_usecase2_held_away(
    live: str, acme: PartnerKey, truth: Assignments, capsys: pytest.CaptureFixture[str]
) -> None:
    for ucic, keys in HELD_AWAY.items():
        found = run_json(
            capsys,
            "usecase2_held_away",
            ["--base-url", live, "--partner", "acme", "--key", acme.secret, "--ucic", ucic],
        )
        assert isinstance(found, dict)
        assert {p["kli_code"] for p in found["products"]} == {
            code_for(k) for k in keys if k.startswith("competitive_product:")
        }
        assert {b["kli_code"] for b in found["banks"]} == {
            code_for(k) for k in keys if k.startswith("competitive_bank:")
        }
    nothing = run_json(
        capsys,
        "usecase2_held_away",
        ["--base-url", live, "--partner", "acme", "--key", acme.secret, "--ucic", "a04"],
    )
    assert nothing == {"products": [], "banks": []}


def test_usecase3_feature_matrix(
    live: str, acme: PartnerKey, truth: Assignments, tmp_path: Path
) -> None:
    out = tmp_path / "features.parquet"
    module = example("usecase3_feature_matrix")
    args = ["--base-url", live, "--partner", "acme", "--key", acme.secret, "--output", str(out)]
    assert module.main(args) == 0
    features = pq.read_table(out)
    ucics = features["ucic"].to_pylist()
    assert ucics == sorted({u for u, _, _, _ in truth.rows})
    codes = sorted({c for _, c, _, _ in truth.rows})
    assert features.column_names == ["ucic", *(f"kli_{c}" for c in codes)]
    for j, code in enumerate(codes):
        column = features.column(j + 1).to_pylist()
        assert {u for u, v in zip(ucics, column, strict=True) if v == 1} == truth.holders(code)
    common = tmp_path / "common.parquet"
    assert module.main([*args[:-1], str(common), "--min-customers", "10"]) == 0
    assert pq.read_table(common).num_columns - 1 == sum(
        1 for c in codes if len(truth.holders(c)) >= 10
    )
