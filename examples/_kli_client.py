"""What the three KLI examples share: arguments, an authenticated httpx client, pagination."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any

import httpx


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--base-url",
        default=os.environ.get("SIGHTLINE_URL", "http://127.0.0.1:8000"),
        help="Sightline API base URL (env SIGHTLINE_URL).",
    )
    p.add_argument(
        "--partner",
        default=os.environ.get("SIGHTLINE_PARTNER"),
        help="Partner id (env SIGHTLINE_PARTNER).",
    )
    p.add_argument(
        "--key",
        default=os.environ.get("SIGHTLINE_KEY"),
        help="API key secret or token (env SIGHTLINE_KEY).",
    )
    return p


def check(args: argparse.Namespace, p: argparse.ArgumentParser) -> None:
    if not args.partner:
        p.error("--partner (or SIGHTLINE_PARTNER) is required")
    if not args.key:
        p.error("--key (or SIGHTLINE_KEY) is required")


def client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60.0)


def get(http: httpx.Client, path: str, **params: Any) -> Any:
    resp = http.get(path, params={k: v for k, v in params.items() if v is not None})
    if resp.status_code != 200:
        raise SystemExit(f"GET {path} → {resp.status_code}: {resp.text}")
    return resp.json()


def pages(http: httpx.Client, path: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated list endpoint (follows next_cursor)."""
    cursor = None
    while True:
        body = get(http, path, **params, cursor=cursor)
        yield from body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return
