"""The landing-folder watcher: ingests files dropped under ``<landing>/<partner>/<feed>/``.

A file is touched only when it is complete: its name is not a temporary one (``.*``, ``*.part``,
``*.tmp``, ``*.filepart``, ``*.crdownload``, ``*~``), its modification time is at least
``watch_stable_seconds`` old, and its size and mtime did not change since the previous scan.
After the run the file moves to ``<landing>/<partner>/<feed>/archive/`` (stored, partial or
already ingested) or ``…/failed/`` (nothing could be stored), with ``<name>.reason.txt`` beside
it. Customers are ingested before the feeds that reference them. Each scan also flushes the
stored webhook events to the lake.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sightline.config import Settings
from sightline.ingest import service
from sightline.ingest.schemas import FEEDS
from sightline.store.db import transaction
from sightline.store.models import Partner

log = logging.getLogger("sightline.ingest.watcher")

FEED_ORDER = ["customers", "accounts", "transactions", "telemetry", "consents", "events"]
TEMP_SUFFIXES = (".part", ".tmp", ".filepart", ".crdownload", ".partial", "~", ".swp")
ARCHIVE, FAILED = "archive", "failed"


@dataclass
class WatchState:
    """What the previous scan saw: path → (size, mtime_ns)."""

    seen: dict[Path, tuple[int, int]] = field(default_factory=dict)


@dataclass
class Landed:
    path: Path
    moved_to: Path
    summary: service.RunSummary


def is_candidate(path: Path) -> bool:
    name = path.name
    return (
        path.is_file()
        and not name.startswith(".")
        and not name.lower().endswith(TEMP_SUFFIXES)
        and not name.endswith(".reason.txt")
    )


def _partners(sessions: sessionmaker[Session]) -> set[str]:
    with transaction(sessions) as session:
        return set(session.scalars(select(Partner.partner_id)))


def ready_files(
    landing: Path,
    partners: set[str],
    *,
    state: WatchState | None,
    stable_seconds: float,
    now: float | None = None,
) -> list[tuple[str, str, Path]]:
    """(partner, feed, path) of complete files, customers first, then by name."""
    now = time.time() if now is None else now
    out: list[tuple[str, str, Path]] = []
    current: dict[Path, tuple[int, int]] = {}
    if not landing.is_dir():
        return out
    for partner_dir in sorted(landing.iterdir()):
        if not partner_dir.is_dir() or partner_dir.name.startswith("."):
            continue
        if partner_dir.name not in partners:
            continue
        for feed in FEED_ORDER:
            feed_dir = partner_dir / feed
            if not feed_dir.is_dir():
                continue
            for path in sorted(feed_dir.iterdir()):
                if not is_candidate(path):
                    continue
                st = path.stat()
                sig = (st.st_size, st.st_mtime_ns)
                current[path] = sig
                if now - st.st_mtime < stable_seconds:
                    continue
                if state is not None and stable_seconds > 0 and state.seen.get(path) != sig:
                    continue
                out.append((partner_dir.name, feed, path))
    if state is not None:
        state.seen = current
    return out


def _move(path: Path, folder: str, run_id: str, reason: str) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{run_id}-{path.name}"
    path.replace(target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target


def _reason(summary: service.RunSummary) -> str:
    lines = [
        f"run: {summary.run_id}",
        f"status: {summary.status}",
        f"read: {summary.read}",
        f"stored: {summary.stored}",
        f"quarantined: {summary.quarantined}",
        f"duplicate: {summary.duplicate}",
    ]
    if summary.message:
        lines.append(f"message: {summary.message}")
    return "\n".join(lines)


def scan_once(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    state: WatchState | None = None,
    stable_seconds: float | None = None,
    flush: bool = True,
) -> list[Landed]:
    """Ingest every complete file in the landing folder once; flush webhook events."""
    landing = settings.resolved_landing_dir
    stable = settings.watch_stable_seconds if stable_seconds is None else stable_seconds
    landed: list[Landed] = []
    for partner_id, feed, path in ready_files(
        landing, _partners(sessions), state=state, stable_seconds=stable
    ):
        relative = path.relative_to(landing).as_posix()
        summary = service.ingest_path(
            sessions, settings, partner_id, feed, path, source=f"landing:{relative}"
        )
        folder = FAILED if summary.status == "failed" else ARCHIVE
        moved = _move(path, folder, summary.run_id, _reason(summary))
        landed.append(Landed(path=path, moved_to=moved, summary=summary))
        log.info(
            "landed file ingested",
            extra={
                "fields": {
                    "partner_id": partner_id,
                    "feed": feed,
                    "file": path.name,
                    "status": summary.status,
                    "run_id": summary.run_id,
                }
            },
        )
    if flush:
        service.flush_all_events(sessions, settings)
    return landed


def ensure_layout(settings: Settings, partner_id: str) -> Path:
    """Create ``<landing>/<partner>/<feed>/`` for every feed."""
    root = settings.resolved_landing_dir / partner_id
    for feed in FEEDS:
        (root / feed).mkdir(parents=True, exist_ok=True)
    return root


async def run_forever(
    sessions: sessionmaker[Session], settings: Settings, stop: asyncio.Event
) -> None:
    """Scan every ``watch_interval_seconds`` until ``stop`` is set (used by ``sightline serve``)."""
    state = WatchState()
    while not stop.is_set():
        try:
            await asyncio.to_thread(scan_once, sessions, settings, state=state)
        except Exception as exc:  # keep watching; the next scan retries
            log.error("landing scan failed", extra={"fields": {"error": type(exc).__name__}})
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.watch_interval_seconds)
        except TimeoutError:
            continue
