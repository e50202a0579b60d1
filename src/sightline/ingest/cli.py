"""``sightline ingest``, ``runs``, ``watch``, ``flush-events``, ``alerts …`` and ``sftp …``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from sightline.cli_support import console, database_problem, fail, settings, unit_of_work
from sightline.errors import SightlineError
from sightline.ingest import repository as repo
from sightline.ingest import service
from sightline.ingest.readers import FileProblem
from sightline.ingest.schemas import FEEDS
from sightline.partners.service import require_partner
from sightline.store.db import make_engine, make_sessionmaker

alerts_app = typer.Typer(help="Alert webhooks of a partner's ingestion.", no_args_is_help=True)
sftp_app = typer.Typer(help="SFTP access to the landing folder.", no_args_is_help=True)

RUN_STATUSES = ("running", "succeeded", "partial", "failed", "skipped", "interrupted")


@contextmanager
def _sessions() -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings().resolved_database_url)
    try:
        yield make_sessionmaker(engine)
    except (SightlineError, FileProblem) as exc:
        fail(str(exc))
    except DBAPIError as exc:
        fail(database_problem(exc))
    finally:
        engine.dispose()


def _print_summary(summaries: list[service.RunSummary]) -> None:
    table = Table("file", "status", "read", "stored", "quarantined", "duplicate")
    for s in summaries:
        table.add_row(
            Path(s.source).name,
            s.status,
            str(s.read),
            str(s.stored),
            str(s.quarantined),
            str(s.duplicate),
        )
    console.print(table)
    for s in summaries:
        note = f": {s.message}" if s.message else ""
        console.print(f"{Path(s.source).name} → run {s.run_id}{note}", highlight=False)


def ingest(
    feed: Annotated[str, typer.Argument(help=f"Feed: {', '.join(FEEDS)}.")],
    path: Annotated[Path, typer.Argument(help="A file, or a folder of files (one run each).")],
    partner: Annotated[str, typer.Option("--partner", help="Partner id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Ingest CSV, gzipped CSV, Parquet or NDJSON files into the lake. Exits non-zero when
    nothing could be stored."""
    if feed not in FEEDS:
        fail(f"FEED must be one of {', '.join(FEEDS)}; got {feed!r}.", 2)
    s = settings()
    with _sessions() as sessions:
        files = service.list_files(path)
        if not files:
            fail(f"{path}: no data files (.csv, .csv.gz, .parquet, .ndjson).")
        summaries = [service.ingest_path(sessions, s, partner, feed, f) for f in files]
    if as_json:
        typer.echo(json.dumps([x.as_dict() for x in summaries], default=str))
    else:
        _print_summary(summaries)
    if not any(x.ok for x in summaries):
        raise typer.Exit(1)


def runs(
    partner: Annotated[str, typer.Option("--partner", help="Partner id.")],
    limit: Annotated[int, typer.Option(help="How many runs (newest first).", min=1)] = 20,
    feed: Annotated[str | None, typer.Option(help="Only this feed.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List ingestion runs with their counts."""
    if feed is not None and feed not in FEEDS:
        fail(f"--feed must be one of {', '.join(FEEDS)}; got {feed!r}.", 2)
    if status is not None and status not in RUN_STATUSES:
        fail(f"--status must be one of {', '.join(RUN_STATUSES)}; got {status!r}.", 2)
    with unit_of_work() as session:
        require_partner(session, partner)
        items, _ = service.list_runs(session, partner, limit=limit, feed=feed, status=status)
    if as_json:
        typer.echo(json.dumps([x.as_dict() for x in items], default=str))
        return
    table = Table(box=None)
    table.add_column("run", overflow="fold")
    table.add_column("feed", no_wrap=True)
    table.add_column("status", no_wrap=True, min_width=11)
    for name in ("read", "stored", "quarantined", "duplicate"):
        table.add_column(name, justify="right")
    table.add_column("source", overflow="fold")
    for r in items:
        table.add_row(
            r.run_id,
            r.feed,
            r.status,
            str(r.read),
            str(r.stored),
            str(r.quarantined),
            str(r.duplicate),
            Path(r.source).name,
        )
    console.print(table)


def watch(
    once: Annotated[bool, typer.Option("--once", help="Scan once and exit.")] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between scans (SIGHTLINE_WATCH_INTERVAL_SECONDS).")
    ] = None,
) -> None:
    """Watch the landing folder (<landing>/<partner>/<feed>/) and ingest complete files."""
    from sightline.ingest.watcher import WatchState, scan_once

    if interval is not None and interval <= 0:
        fail(f"--interval must be more than 0 seconds; got {interval}.", 2)

    s = settings()
    state = WatchState()
    console.print(f"watching {s.resolved_landing_dir}")
    with _sessions() as sessions:
        try:
            while True:
                for landed in scan_once(sessions, s, state=state):
                    x = landed.summary
                    console.print(
                        f"{landed.path.name}: {x.status} read={x.read} stored={x.stored} "
                        f"quarantined={x.quarantined} duplicate={x.duplicate} → "
                        f"{landed.moved_to.parent.name}/"
                    )
                if once:
                    return
                time.sleep(interval or s.watch_interval_seconds)
        except KeyboardInterrupt:
            console.print("stopped")


def flush_events(
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner.")] = None,
) -> None:
    """Write stored webhook events to the lake now (the watcher does it on every scan)."""
    if partner is not None:
        with unit_of_work() as session:
            require_partner(session, partner)
    s = settings()
    with _sessions() as sessions:
        if partner:
            one = service.flush_events(sessions, s, partner)
            summaries = [one] if one else []
        else:
            summaries = service.flush_all_events(sessions, s)
    if not summaries:
        console.print("no events to flush")
        return
    _print_summary(summaries)


@alerts_app.command("add")
def alerts_add(
    url: Annotated[str, typer.Argument(help="Where alerts are POSTed.")],
    partner: Annotated[str, typer.Option("--partner", help="Partner id.")],
    secret: Annotated[
        str | None, typer.Option(help="Signing secret (whsec_…); generated when omitted.")
    ] = None,
) -> None:
    """Add an alert webhook (signed with the Standard Webhooks scheme)."""
    from sightline.ingest.alerts import add_webhook

    with unit_of_work() as session:
        require_partner(session, partner)
        hook = add_webhook(session, partner, url, secret)
        shown = hook.secret
    console.print(f"alert webhook {url} added; signing secret: {shown}")


@alerts_app.command("list")
def alerts_list(partner: Annotated[str, typer.Option("--partner", help="Partner id.")]) -> None:
    """List a partner's alert webhooks."""
    with unit_of_work() as session:
        require_partner(session, partner)
        rows = [(h.id, h.url) for h in repo.alert_webhooks(session, partner)]
    table = Table("id", "url")
    for hook_id, url in rows:
        table.add_row(str(hook_id), url)
    console.print(table)


@sftp_app.command("add-key")
def sftp_add_key(
    key_file: Annotated[Path, typer.Argument(help="The partner's OpenSSH public key file.")],
    partner: Annotated[str, typer.Option("--partner", help="Partner id (the SFTP user name).")],
) -> None:
    """Allow a public key to log in as the partner."""
    from sightline.ingest.sftp import add_key

    try:
        text = key_file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"KEY_FILE {key_file}: {exc.strerror or exc}.", 2)
    except UnicodeDecodeError:
        fail(f"KEY_FILE {key_file}: not a text file (a public key is one line of text).", 2)
    with unit_of_work() as session:
        fingerprint = add_key(session, partner, text)
    console.print(f"key {fingerprint} may now log in as {partner}")


@sftp_app.command("serve")
def sftp_serve(
    host: Annotated[str | None, typer.Option(help="Bind address (SIGHTLINE_SFTP_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (SIGHTLINE_SFTP_PORT).", min=1, max=65535)
    ] = None,
) -> None:
    """Serve the landing folder over SFTP: each partner sees only <landing>/<partner>/."""
    import asyncio

    from sightline.ingest.sftp import serve_forever

    s = settings()
    with _sessions() as sessions:
        try:
            asyncio.run(
                serve_forever(sessions, s, host=host or s.sftp_host, port=port or s.sftp_port)
            )
        except KeyboardInterrupt:
            console.print("stopped")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("runs")(runs)
    app.command("watch")(watch)
    app.command("flush-events")(flush_events)
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(sftp_app, name="sftp")
