"""The refresh schedule: what is due when, one tick end to end, the app hook."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient

from sightline.api.app import create_app
from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.insights.refresh import run_refresh
from sightline.insights.scheduler import PartnerState, Schedule, Scheduler, due
from tests.conftest import PartnerKey
from tests.insights import smallfi
from tests.insights.lakefixtures import txn, write_feed

SCHEDULE = Schedule(daily_at=time(2, 0), monthly_day=1)


def test_due() -> None:
    state = PartnerState()
    assert due(datetime(2026, 11, 22, 1, 59), state, SCHEDULE) is None  # before the slot
    assert due(datetime(2026, 11, 22, 2, 0), state, SCHEDULE) == ("full", "monthly")
    state.last_monthly = (2026, 11)
    assert due(datetime(2026, 11, 22, 2, 0), state, SCHEDULE) == ("incremental", "daily")
    state.last_daily = datetime(2026, 11, 22).date()
    assert due(datetime(2026, 11, 22, 23, 0), state, SCHEDULE) is None
    assert due(datetime(2026, 11, 23, 3, 0), state, SCHEDULE) == ("incremental", "daily")
    assert due(datetime(2026, 12, 1, 2, 30), state, SCHEDULE) == ("full", "monthly")


def test_tick_runs_what_is_due_and_new_ingests(
    settings: Settings, context: AppContext, acme: PartnerKey
) -> None:
    smallfi.build(settings.lake_dir)
    calls: list[tuple[str, bool, str]] = []

    def runner(s: Settings, sessions: Any, partner: str, *, full: bool, trigger: str) -> Any:
        calls.append((partner, full, trigger))
        return run_refresh(s, sessions, partner, full=full, trigger=trigger, enrich=None)

    now = [datetime(2026, 11, 22, 1, 0)]
    sched = Scheduler(settings, context.sessions, schedule=SCHEDULE, runner=runner,
                      clock=lambda: now[0])  # fmt: skip
    # before the daily slot, the lake has data never refreshed: an "ingest" incremental
    assert sched.tick() == [("acme", "incremental", "ingest")]
    assert sched.tick() == []  # nothing new
    now[0] = datetime(2026, 11, 22, 2, 5)
    assert sched.tick() == [("acme", "full", "monthly")]
    now[0] = datetime(2026, 11, 23, 2, 5)
    assert sched.tick() == [("acme", "incremental", "daily")]
    later = datetime.now(UTC) + timedelta(seconds=2)
    write_feed(settings.lake_dir, "telemetry", "acme",
               [{"ucic": "c2", "date": smallfi.AS_OF, "channel": "web", "logins": 3,
                 "bill_pay": 0, "p2p": 1, "rdc": 0}], ingested_at=later)  # fmt: skip
    assert sched.tick() == [("acme", "incremental", "ingest")]
    assert [c[2] for c in calls] == ["ingest", "monthly", "daily", "ingest"]
    # a restarted scheduler reads what was done (today, by the wall clock) from the refresh log
    now[0] = datetime.now(UTC).replace(tzinfo=None)
    fresh = Scheduler(settings, context.sessions, schedule=SCHEDULE, runner=runner,
                      clock=lambda: now[0])  # fmt: skip
    assert fresh.tick() == []
    write_feed(settings.lake_dir, "transactions", "zzz", [txn("Z", "z", smallfi.AS_OF, 1.0)])
    assert fresh.partners() == ["acme"]  # unknown partners' folders are ignored


def test_app_hook_starts_and_stops_the_scheduler(settings: Settings, context: AppContext) -> None:
    with TestClient(create_app(context=context)) as client:
        assert getattr(client.app.state, "kli_scheduler", None) is None  # env=test: off
    live = AppContext(settings.model_copy(update={"env": "development"}), context.engine,
                      context.sessions)  # fmt: skip
    app = create_app(context=live)
    with TestClient(app):
        assert app.state.kli_scheduler is not None
        task = app.state.kli_scheduler_task
        assert isinstance(task, asyncio.Task) and not task.done()
    assert app.state.kli_scheduler is None and task.cancelled()
