"""``sightline taxonomy show|export``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from sightline.cli import app
from sightline.taxonomy import load_taxonomy

runner = CliRunner()


def test_show() -> None:
    result = runner.invoke(app, ["taxonomy", "show", "8616201", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["kli_name"] == "Consumer Mortgage Loan"
    assert body["parents"] == [body["parent_kli_code"]]
    text = runner.invoke(app, ["taxonomy", "show", "8616194"])
    assert text.exit_code == 0 and "Consumer Spend" in text.output
    missing = runner.invoke(app, ["taxonomy", "show", "1"])
    assert missing.exit_code == 1 and "KLI 1 not found" in missing.output


def test_export_csv_and_json(tmp_path: Path) -> None:
    out = tmp_path / "tax.csv"
    result = runner.invoke(app, ["taxonomy", "export", "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(load_taxonomy())
    spend = next(r for r in rows if r["kli_code"] == "8616194")
    assert spend["kli_is_leaf"] == "N" and spend["parents"] == ""
    as_json = runner.invoke(app, ["taxonomy", "export", "--format", "json"])
    records = json.loads(as_json.output)
    assert {r["kli_code"] for r in records} == {int(r["kli_code"]) for r in rows}
    bad = runner.invoke(app, ["taxonomy", "export", "--format", "xml"])
    assert bad.exit_code == 2
