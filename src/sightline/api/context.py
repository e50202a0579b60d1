"""What the running app holds: settings, the serving DB engine, its session factory, and a
short-lived cache of verified credentials."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sightline.config import Settings
from sightline.partners.service import Principal
from sightline.store.db import make_engine, make_sessionmaker


@dataclass
class CredentialCache:
    """Verified bearer credentials → principal, trusted for ``ttl`` seconds.

    Keyed by the SHA-256 of the credential, so no secret is held in memory as sent. Only
    successes are cached: a bad or revoked credential is looked up every time.
    """

    ttl: float
    _entries: dict[bytes, tuple[float, Principal]] = field(default_factory=dict)

    @staticmethod
    def _key(credential: str) -> bytes:
        return hashlib.sha256(credential.encode()).digest()

    def get(self, credential: str) -> Principal | None:
        if self.ttl <= 0:
            return None
        hit = self._entries.get(self._key(credential))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, credential: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[self._key(credential)] = (time.monotonic() + self.ttl, principal)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    credentials: CredentialCache = field(default_factory=lambda: CredentialCache(1.0))

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        engine = make_engine(settings.resolved_database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            credentials=CredentialCache(settings.auth_cache_seconds),
        )
