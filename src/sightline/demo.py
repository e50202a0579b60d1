"""``sightline demo``: the guided tour of everything built so far, on a synthetic FI.

It generates a synthetic FI, starts the API server (with its landing-folder watcher), drops the
FI's files into the landing folder exactly as an SFTP client would (write to a temporary name,
then rename), posts the onboarding events through the signed webhook endpoint over real HTTP,
enriches the transactions and refreshes the KLIs, then prints a ready API key with example calls.
Every step goes through the same services as production; nothing is loaded behind the API's back.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from sightline.api.app import create_app
from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.errors import BadRequest, SightlineError
from sightline.ingest.service import flush_events
from sightline.ingest.watcher import ARCHIVE, FAILED, ensure_layout
from sightline.insights.refresh import run_refresh
from sightline.partners import repository as partner_repo
from sightline.partners import service as partners
from sightline.store import db
from sightline.synth.generator import SynthConfig, generate

FILE_FEEDS = ("customers", "accounts", "transactions", "telemetry", "consents")
EVENT_BATCH = 500


@dataclass
class DemoOptions:
    partner_id: str = "demo"
    customers: int = 5_000
    months: int = 6
    seed: int = 42
    serve: bool = True
    wait_seconds: float = 600.0


@dataclass
class DemoResult:
    partner_id: str
    key_id: str
    client_id: str
    secret: str
    base_url: str
    synth_dir: Path
    steps: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class DemoError(SightlineError):
    """The demo could not finish a step."""


DEMO_PARTNER_NAME = "Demo Credit Union"
"""The name the demo gives the partner it creates: how it recognises its own on a later run."""


def _ensure_partner(sessions: sessionmaker[Session], partner_id: str) -> partners.NewKey:
    """The demo partner (with a Standard Webhooks secret) and a fresh key for this run; an
    existing partner that is not the demo's is refused before anything is loaded into it."""
    with db.transaction(sessions) as session:
        partner = partner_repo.get_partner(session, partner_id)
        if partner is None:
            webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
            partners.create_partner(
                session, partner_id, name=DEMO_PARTNER_NAME, webhook_secret=webhook_secret
            )
        elif partner.name != DEMO_PARTNER_NAME:
            raise BadRequest(
                f"--partner {partner_id} is an existing partner ({partner.name}), not the"
                " demo's: the demo would load synthetic data into its lake. Choose another"
                " --partner."
            )
        return partners.create_key(session, partner_id)


def _webhook_secret(sessions: sessionmaker[Session], partner_id: str) -> str | None:
    with db.transaction(sessions) as session:
        partner = partners.require_partner(session, partner_id)
        return partner.webhook_secret


def synthesise(settings: Settings, opts: DemoOptions, say: Callable[[str], None]) -> Path:
    """Generate the synthetic FI once per (size, seed); later runs reuse it."""
    out = settings.data_dir / "synthetic" / f"{opts.customers}x{opts.months}-seed{opts.seed}"
    done = out / ".complete"
    if done.exists():
        say(f"synthetic FI already at {out}")
        return out
    if out.exists():
        shutil.rmtree(out)
    result = generate(
        SynthConfig(customers=opts.customers, months=opts.months, seed=opts.seed, out=out)
    )
    done.write_text(json.dumps({"transactions": result.transactions}))
    say(
        f"generated {result.customers:,} customers, {result.transactions:,} transactions, "
        f"{result.events:,} events in {result.seconds:.1f}s → {out}"
    )
    return out


class BackgroundServer:
    """uvicorn in a thread, so the demo can load data through the running server."""

    def __init__(self, ctx: AppContext) -> None:
        settings = ctx.settings
        config = uvicorn.Config(
            create_app(context=ctx),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            loop="uvloop",
            http="httptools",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.base_url = f"http://{settings.host}:{settings.port}"

    def start(self, timeout: float = 120.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                return
            if not self.thread.is_alive():
                raise DemoError(f"The server could not start on {self.base_url} (port in use?).")
            time.sleep(0.05)
        raise DemoError(f"The server did not start within {timeout:.0f}s.")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def _drop(src: Path, folder: Path) -> Path:
    """Copy like an SFTP client: write ``.part``, then rename, so the watcher never sees half."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (src.name + ".part")
    shutil.copyfile(src, tmp)
    target = folder / src.name
    tmp.replace(target)
    return target


def _wait_landed(paths: list[Path], timeout: float) -> dict[str, int]:
    """Wait until the watcher has moved every dropped file to archive/ or failed/."""
    deadline = time.monotonic() + timeout
    outcome = {ARCHIVE: 0, FAILED: 0}
    pending = list(paths)
    while pending and time.monotonic() < deadline:
        still = []
        for path in pending:
            if (path.parent / ARCHIVE / path.name).exists():
                outcome[ARCHIVE] += 1
            elif (path.parent / FAILED / path.name).exists():
                outcome[FAILED] += 1
            else:
                still.append(path)
        pending = still
        if pending:
            time.sleep(0.5)
    if pending:
        raise DemoError(f"The landing watcher did not pick up {len(pending)} file(s) in time.")
    return outcome


def load_files(
    settings: Settings, partner_id: str, synth_dir: Path, timeout: float
) -> dict[str, int]:
    """Drop every feed file into the landing folder; customers first (others reference them)."""
    root = ensure_layout(settings, partner_id)
    totals = {ARCHIVE: 0, FAILED: 0}
    batches = [("customers",), tuple(f for f in FILE_FEEDS if f != "customers")]
    for feeds in batches:
        dropped = [
            _drop(src, root / feed)
            for feed in feeds
            for src in sorted((synth_dir / feed).iterdir())
            if src.is_file() and not src.name.startswith(".")
        ]
        for key, value in _wait_landed(dropped, timeout).items():
            totals[key] += value
    return totals


def _event_batches(synth_dir: Path) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for path in sorted((synth_dir / "events").glob("*.ndjson")):
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    batch.append(line.strip())
                    if len(batch) == EVENT_BATCH:
                        yield batch
                        batch = []
    if batch:
        yield batch


def post_events(
    base_url: str, partner_id: str, api_key: str, webhook_secret: str | None, synth_dir: Path
) -> dict[str, int]:
    """Post the events feed through the signed webhook endpoint, in batches, over real HTTP."""
    signer = Webhook(webhook_secret) if webhook_secret else None
    url = f"{base_url}/ingest/v1/partners/{partner_id}/events"
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    with httpx.Client(timeout=60) as client:
        for n, batch in enumerate(_event_batches(synth_dir)):
            body = b'{"events":[' + b",".join(batch) + b"]}"
            headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
            if signer is not None:
                msg_id = f"msg_demo_{n:06d}_{secrets.token_hex(4)}"
                now = datetime.now(UTC).replace(microsecond=0)
                signature = signer.sign(msg_id, now, body.decode())
                headers |= {
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": signature,
                }
            resp = client.post(url, content=body, headers=headers)
            if resp.status_code != 202:
                raise DemoError(f"Event webhook answered {resp.status_code}: {resp.text[:300]}")
            data = resp.json()
            totals["accepted"] += int(data["accepted"])
            totals["duplicate"] += int(data["duplicate"])
            totals["rejected"] += len(data["rejected"])
    return totals


def curl_lines(base_url: str, partner_id: str, client_id: str, secret: str) -> list[str]:
    p = f"{base_url}/kli/v1/partners/{partner_id}"
    auth = f'-H "Authorization: Bearer {secret}"'
    return [
        f"curl -s -u {client_id}:{secret} -X POST {base_url}/auth/v1/token",
        f"curl -s {auth} '{p}/kli_details?limit=5'",
        f"curl -s {auth} '{p}/kli_assignments/8616194/children"
        "?kli_class=PUBLIC&kli_is_competitive=N&kli_is_leaf=Y&limit=10'",
        f"curl -s {auth} '{p}/kli_assignments/39668008/children"
        "?kli_is_competitive=Y&kli_is_leaf=Y'",
        f"curl -s {auth} -X POST {base_url}/merchant/v1/partners/{partner_id}/merchant "
        "-H 'Content-Type: application/json' "
        """-d '{"merchant_description": "SQ *PIRATES COVE MINI G 0423", """
        """"trans_category": "pos", "trans_type": "debit"}'""",
        f"curl -s {auth} '{base_url}/ingest/v1/partners/{partner_id}/runs?limit=5'",
    ]


def run_demo(
    settings: Settings, opts: DemoOptions, console: Console | None = None
) -> tuple[DemoResult, BackgroundServer]:
    """Run every step; returns with the server still running (the caller stops it)."""
    out = console or Console()

    def say(msg: str) -> None:
        out.print(f"[cyan]›[/] {msg}", highlight=False)

    steps: dict[str, float] = {}

    def timed(name: str) -> Callable[[], None]:
        started = time.perf_counter()
        return lambda: steps.__setitem__(name, round(time.perf_counter() - started, 2))

    # The tour prints its own progress; per-request lines would drown it.
    for noisy in ("sightline.access", "httpx", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    db.upgrade(settings.resolved_database_url)
    ctx = AppContext.from_settings(settings)
    key = _ensure_partner(ctx.sessions, opts.partner_id)
    say(f"partner [bold]{opts.partner_id}[/] ready; new API key {key.key_id}")

    done = timed("synth")
    synth_dir = synthesise(settings, opts, say)
    done()

    server = BackgroundServer(ctx)
    server.start()
    say(f"serving on {server.base_url} (docs at {server.base_url}/docs)")
    result = DemoResult(
        opts.partner_id, key.key_id, key.client_id, key.secret, server.base_url, synth_dir, steps
    )
    try:
        done = timed("files")
        landed = load_files(settings, opts.partner_id, synth_dir, opts.wait_seconds)
        done()
        say(
            f"landing folder: {landed[ARCHIVE]} file(s) ingested and archived, "
            f"{landed[FAILED]} failed"
        )
        done = timed("events")
        events = post_events(
            server.base_url,
            opts.partner_id,
            key.secret,
            _webhook_secret(ctx.sessions, opts.partner_id),
            synth_dir,
        )
        done()
        say(
            f"event webhook: {events['accepted']:,} accepted, {events['duplicate']:,} duplicate, "
            f"{events['rejected']:,} rejected"
        )
        result.counts |= {f"events_{k}": v for k, v in events.items()}
        result.counts |= {f"files_{k}": v for k, v in landed.items()}

        done = timed("refresh")
        flushed = flush_events(ctx.sessions, settings, opts.partner_id)
        if flushed is not None:
            say(f"events flushed to the lake: {flushed.stored:,} stored ({flushed.run_id})")
        refreshed = run_refresh(settings, ctx.sessions, opts.partner_id, full=True, trigger="demo")
        done()
        say(
            f"refresh {refreshed.refresh_id}: {refreshed.transactions_enriched:,} transactions "
            f"enriched, {refreshed.assignments:,} KLI assignments for "
            f"{refreshed.customers:,} customers in {refreshed.duration_seconds:.1f}s"
        )
        result.counts |= {"assignments": refreshed.assignments, "customers": refreshed.customers}
    except BaseException:
        server.stop()
        raise
    return result, server
