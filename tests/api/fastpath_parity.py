"""Helpers comparing the app with its pure-ASGI fast path against the FastAPI-only app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sightline.api import fastpath
from sightline.api.app import create_app
from sightline.api.context import AppContext

Exchange = tuple[int, list[tuple[bytes, bytes]], bytes]


@dataclass
class Twins:
    """The same app twice: ``fast`` with the fast path, ``slow`` without it. ``answered`` lists
    the paths the fast path answered itself (the rest went on to FastAPI)."""

    fast: TestClient
    slow: TestClient
    answered: list[str] = field(default_factory=list)

    def both(self, method: str, path: str, **kwargs: Any) -> tuple[Exchange, Exchange, bool]:
        """Send one request to each app (same request id); the two answers and whether the
        fast path answered the first one."""
        headers = {"X-Request-Id": "parity-request-0001", **kwargs.pop("headers", {})}
        before = len(self.answered)
        fast = _exchange(self.fast, method, path, headers=headers, **kwargs)
        answered = len(self.answered) > before
        slow = _exchange(self.slow, method, path, headers=headers, **kwargs)
        assert len(self.answered) == before + answered, "the FastAPI-only app has no fast path"
        return fast, slow, answered

    def same(self, method: str, path: str, **kwargs: Any) -> tuple[Exchange, bool]:
        """Both apps give byte-identical status, headers and body; the answer, and whether the
        fast path gave it."""
        fast, slow, answered = self.both(method, path, **kwargs)
        assert fast == slow, (method, path)
        return fast, answered


def _exchange(client: TestClient, method: str, path: str, **kwargs: Any) -> Exchange:
    resp = client.request(method, path, follow_redirects=False, **kwargs)
    return resp.status_code, list(resp.headers.raw), resp.content


@contextmanager
def twins(context: AppContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[Twins]:
    answered: list[str] = []
    answer = fastpath._answer

    async def spy(*args: Any) -> None:
        answered.append("answered")
        await answer(*args)

    monkeypatch.setattr(fastpath, "_answer", spy)
    with (
        TestClient(create_app(context=context)) as fast,
        TestClient(create_app(context=context, fast_path=False)) as slow,
    ):
        yield Twins(fast, slow, answered)
