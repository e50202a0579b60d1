"""``sightline partners …`` and ``sightline keys …``."""

from __future__ import annotations

import base64
import json
from typing import Annotated

import typer
from rich.table import Table

from sightline.cli_support import console, unit_of_work
from sightline.partners import repository as repo
from sightline.partners import service

partners_app = typer.Typer(help="Partners: the FIs this instance serves.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of a partner.", no_args_is_help=True)


def _name(value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("must not be empty.")
    return value


def _webhook_secret(value: str | None) -> str | None:
    """A secret the event webhook can verify with; a bad one would fail every event later."""
    if value is None:
        return None
    try:
        if not value.startswith("whsec_") or len(base64.b64decode(value[6:], validate=True)) < 16:
            raise ValueError(value)
    except ValueError:
        raise typer.BadParameter(
            "must be a Standard Webhooks secret: whsec_ then the base64 of 16 or more bytes."
        ) from None
    return value


@partners_app.command("create")
def create_partner(
    partner_id: Annotated[str, typer.Argument(help="Partner id, e.g. 'acme-cu'.")],
    name: Annotated[str, typer.Option("--name", help="Display name.", callback=_name)],
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            help="Standard Webhooks secret (whsec_…) that signs the partner's events.",
            callback=_webhook_secret,
        ),
    ] = None,
) -> None:
    """Create a partner."""
    with unit_of_work() as session:
        service.create_partner(session, partner_id, name=name, webhook_secret=webhook_secret)
    console.print(f"created partner [bold]{partner_id}[/]")


@partners_app.command("list")
def list_partners(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List partners."""
    with unit_of_work() as session:
        rows = [
            {"partner_id": p.partner_id, "name": p.name, "created_at": p.created_at.isoformat()}
            for p in repo.list_partners(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("partner_id", "name", "created_at")
    for row in rows:
        table.add_row(row["partner_id"], row["name"], row["created_at"])
    console.print(table)


@keys_app.command("create")
def create_key(
    partner: Annotated[str, typer.Option("--partner", help="Partner id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a key; the secret is printed once and only its hash is kept."""
    with unit_of_work() as session:
        key = service.create_key(session, partner)
    if as_json:
        typer.echo(
            json.dumps({"key_id": key.key_id, "client_id": key.client_id, "secret": key.secret})
        )
        return
    console.print(f"key_id:    {key.key_id}\nclient_id: {key.client_id}\nsecret:    {key.secret}")
    console.print("[yellow]The secret is shown once; store it now.[/]")


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="Key id (key_…).")]) -> None:
    """Revoke a key: its secret and every token issued from it stop working at once."""
    with unit_of_work() as session:
        service.revoke_key(session, key_id)
    console.print(f"revoked {key_id}")


@keys_app.command("list")
def list_keys(
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner.")] = None,
) -> None:
    """List keys (never their secrets)."""
    with unit_of_work() as session:
        if partner is not None:
            service.require_partner(session, partner)
        keys = repo.list_keys(session, partner)
        table = Table("key_id", "partner_id", "client_id", "secret", "created_at", "revoked_at")
        for k in keys:
            table.add_row(
                k.key_id,
                k.partner_id,
                k.client_id,
                f"…{k.last_four}",
                k.created_at.isoformat(timespec="seconds"),
                k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
            )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(partners_app, name="partners")
    app.add_typer(keys_app, name="keys")
