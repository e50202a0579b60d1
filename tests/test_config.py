from __future__ import annotations

from pathlib import Path

import pytest

from sightline.config import DEV_SECRET, SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.data_dir == Path("data")
    assert s.engine == "duckdb"
    assert s.resolved_database_url.endswith("data/sightline.db")
    assert s.resolved_landing_dir == Path("data/landing")


def test_env_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sightline.toml").write_text('engine = "spark"\nport = 9000\n')
    monkeypatch.setenv("SIGHTLINE_PORT", "9100")
    s = load_settings()
    assert (s.engine, s.port) == ("spark", 9100)  # environment wins over the file


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIGHTLINE_ENGINE", "oracle"),
        ("SIGHTLINE_PORT", "http"),
        ("SIGHTLINE_DATABASE_URL", "mysql://x"),
    ],
)
def test_invalid_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_production_refuses_placeholder_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGHTLINE_ENV", "production")
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("SIGHTLINE_SECRET_KEY", "a-real-secret-of-some-length")
    assert load_settings().secret_key != DEV_SECRET
