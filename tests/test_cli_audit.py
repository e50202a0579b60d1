"""Bad input at the CLI edge: a clear error naming the option, no traceback, nothing written."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sightline import cli_support
from sightline.cli import app

runner = CliRunner()
WHSEC = "whsec_" + base64.b64encode(bytes(range(24))).decode()


def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGHTLINE_ENV", "test")
    monkeypatch.setenv("SIGHTLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGHTLINE_SECRET_KEY", "cli-audit-secret-0123456789")
    monkeypatch.delenv("SIGHTLINE_DATABASE_URL", raising=False)
    cli_support.settings.cache_clear()


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data dir whose serving DB was never migrated."""
    _env(tmp_path, monkeypatch)
    yield tmp_path
    cli_support.settings.cache_clear()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated data dir with the partner ``acme``."""
    _env(tmp_path, monkeypatch)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(app, ["partners", "create", "acme", "--name", "Acme CU"])
    assert made.exit_code == 0, made.output
    yield tmp_path
    cli_support.settings.cache_clear()


def _clean(result: Result, code: int, *words: str) -> None:
    """Exit ``code`` through the CLI's own exits (no exception escaped), naming ``words``."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    for word in words:
        assert word in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["partners", "list"],
        ["keys", "create", "--partner", "acme"],
        ["runs", "--partner", "acme"],
        ["alerts", "list", "--partner", "acme"],
        ["watch", "--once"],
        ["refresh-log", "--partner", "acme"],
        ["refresh", "--partner", "acme"],
    ],
)
def test_an_unmigrated_database_says_run_db_upgrade(bare: Path, args: list[str]) -> None:
    _clean(runner.invoke(app, args), 1, "sightline db upgrade")


def test_db_upgrade_to_an_unknown_revision_names_it(bare: Path) -> None:
    _clean(runner.invoke(app, ["db", "upgrade", "nope"]), 2, "revision 'nope'")


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "--partner", "ghost"],
        ["alerts", "list", "--partner", "ghost"],
        ["alerts", "add", "https://ops.example/hook", "--partner", "ghost"],
        ["keys", "list", "--partner", "ghost"],
        ["flush-events", "--partner", "ghost"],
        ["refresh-log", "--partner", "ghost"],
        ["refresh", "--partner", "ghost"],
    ],
)
def test_an_unknown_partner_is_an_error(cli: Path, args: list[str]) -> None:
    _clean(runner.invoke(app, args), 1, "Partner ghost not found")


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["--limit", "-5"], "--limit"),
        (["--limit", "0"], "--limit"),
        (["--feed", "nope"], "--feed"),
        (["--status", "nope"], "--status"),
    ],
)
def test_runs_refuses_bad_filters(cli: Path, args: list[str], word: str) -> None:
    _clean(runner.invoke(app, ["runs", "--partner", "acme", *args]), 2, word)


def test_runs_with_good_filters(cli: Path) -> None:
    ok = runner.invoke(
        app, ["runs", "--partner", "acme", "--feed", "customers", "--status", "failed", "--json"]
    )
    _clean(ok, 0)
    assert ok.output.strip() == "[]"


@pytest.mark.parametrize("secret", ["nope", "whsec_", "whsec_!!!", "whsec_YWJj"])
def test_partners_create_refuses_a_bad_webhook_secret(cli: Path, secret: str) -> None:
    made = runner.invoke(
        app, ["partners", "create", "beta", "--name", "Beta", "--webhook-secret", secret]
    )
    _clean(made, 2, "--webhook-secret")
    listed = runner.invoke(app, ["partners", "list", "--json"])
    assert '"beta"' not in listed.output


def test_partners_create_with_a_good_webhook_secret_and_an_empty_name(cli: Path) -> None:
    empty = runner.invoke(app, ["partners", "create", "beta", "--name", " "])
    _clean(empty, 2, "--name")
    made = runner.invoke(
        app, ["partners", "create", "beta", "--name", "Beta", "--webhook-secret", WHSEC]
    )
    _clean(made, 0, "created partner")


def test_sftp_add_key_names_an_unreadable_key_file(cli: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pub"
    _clean(
        runner.invoke(app, ["sftp", "add-key", str(missing), "--partner", "acme"]), 2, "KEY_FILE"
    )
    _clean(
        runner.invoke(app, ["sftp", "add-key", str(tmp_path), "--partner", "acme"]), 2, "KEY_FILE"
    )
    binary = tmp_path / "key.pub"
    binary.write_bytes(b"\xff\xfe\x00")
    _clean(runner.invoke(app, ["sftp", "add-key", str(binary), "--partner", "acme"]), 2, "KEY_FILE")


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "99999"],
        ["serve", "--port", "0"],
        ["sftp", "serve", "--port", "70000"],
        ["watch", "--interval", "-1"],
        ["watch", "--once", "--interval", "0"],
    ],
)
def test_out_of_range_numbers_are_refused_before_anything_starts(
    cli: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from sightline.ingest import sftp

    def started(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a server started")

    monkeypatch.setattr(uvicorn, "run", started)
    monkeypatch.setattr(sftp, "serve_forever", started)
    monkeypatch.setattr("sightline.ingest.cli.time.sleep", started)
    _clean(runner.invoke(app, args), 2, args[-2])


def test_taxonomy_export_to_a_bad_path(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir.csv"
    _clean(runner.invoke(app, ["taxonomy", "export", "-o", str(missing)]), 2, "--output")
    _clean(runner.invoke(app, ["taxonomy", "export", "-o", str(tmp_path)]), 2, "--output")


def test_taxonomy_build_with_a_bad_registry_writes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "registry.csv"
    broken.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["taxonomy", "build", "--registry", str(broken), "--dry-run"])
    _clean(result, 1, "header must be")
    folder = tmp_path / "folder"
    folder.mkdir()
    _clean(runner.invoke(app, ["taxonomy", "build", "--registry", str(folder)]), 2, "--registry")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "registry.csv"]
    assert broken.read_text(encoding="utf-8") == "a,b\n1,2\n"


def test_demo_refuses_to_load_synthetic_data_into_an_fi_partner(
    cli: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from sightline import demo

    loaded: list[str] = []
    # run_demo quietens these loggers for its own process: put them back for the other tests
    quiet = {
        name: logging.getLogger(name).level
        for name in ("sightline.access", "httpx", "uvicorn.error")
    }
    request.addfinalizer(lambda: [logging.getLogger(n).setLevel(v) for n, v in quiet.items()])

    def synthesise(_settings: object, opts: demo.DemoOptions, _say: object) -> None:
        loaded.append(opts.partner_id)  # the first step after the partner is settled
        raise demo.DemoError("stopped here")

    monkeypatch.setattr(demo, "synthesise", synthesise)
    result = runner.invoke(app, ["demo", "--partner", "acme", "--no-serve"])
    _clean(result, 1, "--partner acme", "existing partner")
    assert loaded == []
    keys = runner.invoke(app, ["keys", "list", "--partner", "acme"])
    assert keys.exit_code == 0 and "│ key_" not in keys.output  # no key minted either
    made = runner.invoke(app, ["partners", "create", "demo", "--name", "Demo Credit Union"])
    assert made.exit_code == 0, made.output
    for partner in ("demo", "fresh"):  # the demo's own partner again, or a new one
        _clean(runner.invoke(app, ["demo", "--partner", partner, "--no-serve"]), 1, "stopped here")
    assert loaded == ["demo", "fresh"]


def test_enrich_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    source = tmp_path / "statements.csv"
    source.write_text("description,amount\nSQ *PIRATES COVE MINI G 0423,12.50\n")
    before = source.read_bytes()
    result = runner.invoke(app, ["enrich", str(source), "-o", str(tmp_path / "." / source.name)])
    _clean(result, 1, "is the input file")
    assert source.read_bytes() == before


def test_synth_names_a_bad_end_date(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--end-date", "2026-13-01", "--out", str(tmp_path / "s")])
    _clean(result, 2, "--end-date", "2026-13-01")
    assert not (tmp_path / "s").exists()


def test_enrich_names_an_empty_file_and_only_the_files_columns(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _clean(runner.invoke(app, ["enrich", str(empty), "-o", str(tmp_path / "o.csv")]), 1, "empty")
    other = tmp_path / "other.csv"
    other.write_text("x,y\n1,2\n")
    result = runner.invoke(app, ["enrich", str(other), "-o", str(tmp_path / "o.csv")])
    _clean(result, 1, "Column description is required (found: x, y).")
    assert not (tmp_path / "o.csv").exists()
