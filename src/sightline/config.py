"""One typed settings object, read from ``SIGHTLINE_*`` environment variables and a TOML file.

The object is built once at the edge (CLI command, ASGI factory) and passed down; nothing deep in
the code reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused outside development


class SettingsError(Exception):
    """Settings that cannot be used; the message names the setting."""


def _toml_path() -> Path:
    return Path(os.environ.get("SIGHTLINE_CONFIG", "sightline.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIGHTLINE_", extra="forbid", validate_default=True, frozen=True
    )

    env: Literal["development", "test", "production"] = Field(
        "development", description="Deployment environment; production refuses placeholder secrets."
    )
    data_dir: Path = Field(Path("./data"), description="Root of the lake, runs and SQLite file.")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the serving DB; default: SQLite in the data directory."
    )
    engine: Literal["duckdb", "spark"] = Field("duckdb", description="Compute engine.")
    landing_dir: Path | None = Field(
        None, description="Landing folder watched for file drops; default: <data_dir>/landing."
    )
    host: str = Field("127.0.0.1", description="Address the API server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API server listens on.")
    secret_key: str = Field(
        DEV_SECRET, min_length=16, description="Server secret for signing tokens and PII hashing."
    )
    token_ttl_seconds: int = Field(3600, ge=60, le=86400, description="Bearer token lifetime.")
    auth_cache_seconds: float = Field(
        1.0,
        ge=0,
        le=60,
        description="How long a verified credential is trusted without a DB lookup; a revoked "
        "key stops working within this time (0 = check every request).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    workers: int = Field(1, ge=1, le=64, description="Uvicorn worker processes.")
    watch_landing: bool | None = Field(
        None,
        description="Run the landing-folder watcher inside `sightline serve` "
        "(default: on, except when env is 'test').",
    )
    watch_interval_seconds: float = Field(
        2.0, gt=0, le=3600, description="Seconds between two scans of the landing folder."
    )
    watch_stable_seconds: float = Field(
        5.0, ge=0, le=3600, description="A landed file is left alone until unchanged this long."
    )
    alert_quarantine_share: float = Field(
        0.05, ge=0, le=1, description="Alert when a run quarantines more than this share of rows."
    )
    sftp_host: str = Field("127.0.0.1", description="Address `sightline sftp` binds to.")
    sftp_port: int = Field(2222, ge=1, le=65535, description="Port `sightline sftp` listens on.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// SQLAlchemy URL")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> Settings:
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("secret_key: set SIGHTLINE_SECRET_KEY; the placeholder is refused")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sightline.db').resolve()}"

    @property
    def resolved_landing_dir(self) -> Path:
        return self.landing_dir or self.data_dir / "landing"

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def watch_landing_enabled(self) -> bool:
        return self.watch_landing if self.watch_landing is not None else self.env != "test"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one message naming each bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"]) or "settings"
            name = f"SIGHTLINE_{loc.upper()}" if err["loc"] else loc
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("Invalid settings: " + "; ".join(problems)) from None
