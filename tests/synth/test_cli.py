"""``sightline synth`` end to end on the packaged merchant directory."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from sightline.cli import app
from sightline.enrich.directory import load_directory
from sightline.ingest.schemas import FEEDS

runner = CliRunner()


def test_synth_command_writes_every_feed_with_directory_names(tmp_path: Path) -> None:
    out = tmp_path / "fi"
    result = runner.invoke(
        app,
        ["synth", "--customers", "120", "--months", "2", "--seed", "5", "--out", str(out),
         "--end-date", "2026-06-30"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "120 customers" in result.output
    for feed in FEEDS:
        assert list((out / feed).iterdir()), feed
    assert sorted(p.name for p in (out / "transactions").iterdir()) == [
        "transactions-2026-05.csv",
        "transactions-2026-06.csv",
    ]
    directory = load_directory()
    known = {m.merchant_id for m in directory.merchants}
    institutions = {i.institution_id for i in directory.institutions}
    categories = {(c.category_group, c.category) for c in directory.categories}
    tt = pq.read_table(sorted((out / "truth").glob("transactions_truth-*.parquet"))[0]).to_pylist()
    assert {r["merchant_id"] for r in tt if r["merchant_id"]} <= known
    assert {r["competitive_fi"] for r in tt if r["competitive_fi"]} <= institutions
    assert {(r["category_group"], r["category"]) for r in tt} <= categories
    held = pq.read_table(out / "truth" / "held_away.parquet").to_pylist()
    assert held and {h["institution_id"] for h in held} <= institutions


def test_synth_command_rejects_bad_options(tmp_path: Path) -> None:
    bad = runner.invoke(app, ["synth", "--customers", "0", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "Field customers" in bad.output
    fmt = runner.invoke(app, ["synth", "--format", "xml", "--out", str(tmp_path / "y")])
    assert fmt.exit_code == 2
    assert "Field format" in fmt.output
    day = runner.invoke(app, ["synth", "--end-date", "31/10/2026", "--out", str(tmp_path / "z")])
    assert day.exit_code == 2
    assert "YYYY-MM-DD" in day.output
    assert not (tmp_path / "x").exists()
