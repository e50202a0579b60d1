"""Small synthetic FIs generated once per test session (seconds, not minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.synth.generator import SynthConfig, SynthResult, generate
from tests.synth.fake_directory import FAKE_DIRECTORY

CUSTOMERS, MONTHS, SEED = 600, 3, 11


def make(
    tmp: Path, *, seed: int = SEED, fmt: str = "csv", customers: int = CUSTOMERS
) -> SynthResult:
    config = SynthConfig(
        customers=customers,
        months=MONTHS,
        seed=seed,
        out=tmp,
        format="csv" if fmt == "csv" else "parquet",
    )
    return generate(config, FAKE_DIRECTORY)


@pytest.fixture(scope="session")
def fi(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return make(tmp_path_factory.mktemp("fi") / "out")


@pytest.fixture(scope="session")
def fi_parquet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return make(tmp_path_factory.mktemp("fi_pq") / "out", fmt="parquet", customers=200)
