"""The Parquet lake: paths, staging and atomic publishing, readers.

Layout (append-only, nothing is rewritten in place)::

    <data_dir>/lake/<feed>/partner=<partner_id>/date=<YYYY-MM-DD>/<run_id>-<n>.parquet
    <data_dir>/lake/_staging/<feed>/partner=<partner_id>/<run_id>/date=<YYYY-MM-DD>/…

A run writes its files under ``_staging`` and publishes them with ``os.replace`` (atomic per
file on one file system) before the run is committed in the serving DB. A run that dies leaves
only staging files, which the next run of the same partner and feed deletes while holding the
partner/feed lock; rows it had already published are recognised as duplicates by key on the next
run, so every row lands exactly once.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

STAGING = "_staging"
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


def partner_dir(lake_dir: Path, feed: str, partner_id: str) -> Path:
    """``lake/<feed>/partner=<id>``: every date partition of one feed and partner."""
    return lake_dir / feed / f"partner={partner_id}"


def date_dir(lake_dir: Path, feed: str, partner_id: str, day: date) -> Path:
    return partner_dir(lake_dir, feed, partner_id) / f"date={day.isoformat()}"


def staging_dir(lake_dir: Path, feed: str, partner_id: str, run_id: str) -> Path:
    return lake_dir / STAGING / feed / f"partner={partner_id}" / run_id


def date_partitions(lake_dir: Path, feed: str, partner_id: str) -> dict[date, Path]:
    """The ``date=YYYY-MM-DD`` directories of one feed and partner."""
    root = partner_dir(lake_dir, feed, partner_id)
    if not root.is_dir():
        return {}
    out: dict[date, Path] = {}
    for child in root.iterdir():
        m = _DATE_DIR.match(child.name)
        if m and child.is_dir():
            try:
                out[date.fromisoformat(m.group(1))] = child
            except ValueError:
                continue
    return out


def parquet_files(
    lake_dir: Path,
    feed: str,
    partner_id: str,
    *,
    start: date | None = None,
    end: date | None = None,
) -> list[Path]:
    """Published Parquet files of a feed and partner, optionally for dates in [start, end]."""
    files: list[Path] = []
    for day, path in sorted(date_partitions(lake_dir, feed, partner_id).items()):
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        files.extend(sorted(p for p in path.glob("*.parquet") if p.is_file()))
    return files


def read_feed(
    lake_dir: Path,
    feed: str,
    partner_id: str,
    *,
    columns: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pa.Table | None:
    """All published rows of a feed and partner as one Arrow table (None when there are none)."""
    files = parquet_files(lake_dir, feed, partner_id, start=start, end=end)
    if not files:
        return None
    # ParquetFile, not read_table: the hive-style path must not add partition columns.
    tables = [pq.ParquetFile(f).read(columns=columns) for f in files]
    return pa.concat_tables(tables, promote_options="default")


@contextmanager
def feed_lock(lake_dir: Path, feed: str, partner_id: str) -> Iterator[None]:
    """One writer per partner and feed (across processes): dedupe-by-key needs a stable lake."""
    lock_dir = lake_dir / STAGING / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / f"{feed}.{partner_id}.lock").open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def clear_stale_staging(lake_dir: Path, feed: str, partner_id: str) -> int:
    """Delete what dead runs left in staging; call only while holding :func:`feed_lock`."""
    root = lake_dir / STAGING / feed / f"partner={partner_id}"
    if not root.is_dir():
        return 0
    removed = 0
    for child in root.iterdir():
        shutil.rmtree(child, ignore_errors=True)
        removed += 1
    return removed


def discard_staging(stage: Path) -> None:
    """Drop a run's staging directory without publishing it."""
    shutil.rmtree(stage, ignore_errors=True)


def staged_files(stage: Path) -> list[Path]:
    return sorted(stage.glob("date=*/*.parquet"))


def publish(lake_dir: Path, feed: str, partner_id: str, stage: Path) -> list[Path]:
    """Move every staged ``date=…/<file>.parquet`` into the lake (atomic per file)."""
    published: list[Path] = []
    target_root = partner_dir(lake_dir, feed, partner_id)
    for src in staged_files(stage):
        target_dir = target_root / src.parent.name
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / src.name
        src.replace(target)
        published.append(target)
    _fsync_dirs({p.parent for p in published})
    shutil.rmtree(stage, ignore_errors=True)
    return published


def _fsync_dirs(dirs: set[Path]) -> None:
    for d in dirs:
        try:
            fd = os.open(d, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
