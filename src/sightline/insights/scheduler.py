"""Refreshes on a schedule while the server runs.

- **after each ingest**: every ``poll_seconds`` the lake is checked (file metadata only) for data
  newer than the partner's last refresh; if there is some, an incremental refresh runs;
- **daily** at ``daily_at`` (UTC): an incremental refresh of every partner with a lake;
- **monthly** on ``monthly_day`` at ``daily_at``: a full refresh (recomputes everything, so
  slowly drifting inputs such as balances and ages are brought up to date).

Refreshes run one at a time in a worker thread, off the event loop. With several server workers
only the one holding ``<data_dir>/run/scheduler.lock`` schedules. Not started when
``SIGHTLINE_ENV=test`` (tests drive :meth:`Scheduler.tick` directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sightline.config import Settings
from sightline.insights.refresh import RAW_FEEDS, feed_files, lake_watermark, run_refresh
from sightline.insights.refresh_models import KliRefresh
from sightline.store.db import transaction
from sightline.store.models import Partner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    daily_at: time = time(2, 0)
    monthly_day: int = 1
    poll_seconds: float = 300.0


@dataclass
class PartnerState:
    last_daily: date | None = None
    last_monthly: tuple[int, int] | None = None
    watermark: datetime | None = None


def due(now: datetime, state: PartnerState, schedule: Schedule) -> tuple[str, str] | None:
    """The (mode, trigger) of the refresh due now for a partner, if any (pure: no I/O)."""
    if now.time() >= schedule.daily_at:
        month = (now.year, now.month)
        if now.day >= schedule.monthly_day and state.last_monthly != month:
            return "full", "monthly"
        if state.last_daily != now.date():
            return "incremental", "daily"
    return None


RefreshFn = Callable[..., Any]


@dataclass
class Scheduler:
    settings: Settings
    sessions: sessionmaker[Session]
    schedule: Schedule = field(default_factory=Schedule)
    runner: RefreshFn = run_refresh
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC).replace(tzinfo=None))
    states: dict[str, PartnerState] = field(default_factory=dict)
    _loaded: bool = False

    def partners(self) -> list[str]:
        with transaction(self.sessions) as session:
            ids = list(session.execute(select(Partner.partner_id)).scalars())
        lake = self.settings.lake_dir
        return [p for p in ids if any(feed_files(lake, f, p) for f in RAW_FEEDS)]

    def load(self, partner_id: str) -> PartnerState:
        """What the refresh log says was done: the schedule survives restarts."""
        state = self.states.get(partner_id)
        if state is not None:
            return state
        state = PartnerState()
        with transaction(self.sessions) as session:
            rows = session.execute(
                select(KliRefresh)
                .where(KliRefresh.partner_id == partner_id, KliRefresh.status == "succeeded")
                .order_by(KliRefresh.started_at.desc())
                .limit(200)
            ).scalars()
            for r in rows:
                if state.watermark is None and r.watermark is not None:
                    state.watermark = r.watermark
                if r.trigger in ("daily", "monthly") and state.last_daily is None:
                    state.last_daily = r.started_at.date()
                if r.mode == "full" and state.last_monthly is None:
                    state.last_monthly = (r.started_at.year, r.started_at.month)
        self.states[partner_id] = state
        return state

    def tick(self) -> list[tuple[str, str, str]]:
        """Run every refresh due now (blocking); returns (partner, mode, trigger) run."""
        ran: list[tuple[str, str, str]] = []
        for partner_id in self.partners():
            state = self.load(partner_id)
            now = self.clock()
            job = due(now, state, self.schedule)
            if job is None:
                newest = lake_watermark(self.settings.lake_dir, partner_id)
                if newest is not None and (state.watermark is None or newest > state.watermark):
                    job = ("incremental", "ingest")
            if job is None:
                continue
            mode, trigger = job
            try:
                self.runner(
                    self.settings,
                    self.sessions,
                    partner_id,
                    full=mode == "full",
                    trigger=trigger,
                )
            except Exception:
                log.exception("scheduled %s refresh of %s failed", mode, partner_id)
            # a failed run is not retried until the next slot: the log shows the failure
            if trigger in ("daily", "monthly"):
                state.last_daily = now.date()
            if mode == "full":
                state.last_monthly = (now.year, now.month)
            state.watermark = lake_watermark(self.settings.lake_dir, partner_id)
            ran.append((partner_id, mode, trigger))
        return ran

    async def run_forever(self) -> None:
        interval = max(1.0, min(self.schedule.poll_seconds, 60.0))
        last_poll = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if loop.time() - last_poll >= self.schedule.poll_seconds or self._slot_due():
                last_poll = loop.time()
                try:
                    await asyncio.to_thread(self.tick)
                except Exception:  # keep scheduling whatever one tick did
                    log.exception("refresh scheduler tick failed")
            await asyncio.sleep(interval)

    def _slot_due(self) -> bool:
        now = self.clock()
        return any(due(now, s, self.schedule) is not None for s in self.states.values())


def _take_lock(settings: Settings) -> IO[str] | None:
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = (run_dir / "scheduler.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


async def startup_hook(app: Any) -> None:
    """An app startup hook (``async def hook(app)``): start the scheduler in the background."""
    ctx = app.state.ctx
    if ctx.settings.env == "test" or getattr(app.state, "kli_scheduler", None) is not None:
        return
    lock = _take_lock(ctx.settings)
    if lock is None:
        log.info("another worker runs the refresh scheduler")
        return
    scheduler = Scheduler(ctx.settings, ctx.sessions)
    app.state.kli_scheduler = scheduler
    app.state.kli_scheduler_lock = lock
    app.state.kli_scheduler_task = asyncio.create_task(scheduler.run_forever())
    log.info("refresh scheduler started")


async def shutdown_hook(app: Any) -> None:
    task = getattr(app.state, "kli_scheduler_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.kli_scheduler_task = None
        app.state.kli_scheduler = None
    lock = getattr(app.state, "kli_scheduler_lock", None)
    if lock is not None:
        lock.close()
        app.state.kli_scheduler_lock = None


def install(app: Any) -> None:
    """Register the hooks on an app built without the private-KLI router."""
    app.state.startup_hooks.append(startup_hook)
    app.state.shutdown_hooks.append(shutdown_hook)
