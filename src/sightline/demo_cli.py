"""``sightline demo``: set up a synthetic FI end to end and keep serving it."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from sightline.cli_support import console, fail, settings
from sightline.errors import SightlineError


def demo(
    customers: Annotated[int, typer.Option(help="Customers in the synthetic FI.")] = 5_000,
    months: Annotated[int, typer.Option(help="Months of history.")] = 6,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic FI.")] = 42,
    partner: Annotated[str, typer.Option(help="Partner id of the demo FI.")] = "demo",
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep serving after loading.")
    ] = True,
) -> None:
    """Generate a synthetic FI, load it through the landing folder and the event webhook,
    refresh it, then serve it on SIGHTLINE_HOST:SIGHTLINE_PORT with a ready API key."""
    from sightline.demo import DemoOptions, curl_lines, run_demo

    opts = DemoOptions(
        partner_id=partner, customers=customers, months=months, seed=seed, serve=serve
    )
    try:
        result, server = run_demo(settings(), opts, console)
    except SightlineError as exc:
        fail(str(exc))
    except Exception as exc:  # the edge: a clean message, never a traceback
        fail(f"the demo stopped: {type(exc).__name__}: {exc}")
    console.rule("[bold green]Sightline is ready")
    console.print(f"API:       {result.base_url}   (OpenAPI: {result.base_url}/docs)")
    console.print(f"partner:   {result.partner_id}")
    console.print(f"client_id: {result.client_id}")
    console.print(f"API key:   {result.secret}")
    console.print(f"timings:   {result.steps}")
    console.print("\nTry:")
    for line in curl_lines(result.base_url, result.partner_id, result.client_id, result.secret):
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print(
        "\nUse cases 1-3: .venv/bin/python examples/usecase1_rewards.py "
        f"--base-url {result.base_url} --partner {result.partner_id} --key {result.secret}"
        "  (also usecase2_held_away.py, usecase3_feature_matrix.py)",
        highlight=False,
        soft_wrap=True,
    )
    if not serve:
        server.stop()
        return
    console.print("\n[dim]Serving; press Ctrl-C to stop.[/]")
    try:
        while server.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
