"""An SFTP server for the landing folder (asyncssh): key authentication only, SFTP only (no
shell, exec, SCP or port forwarding), one chroot per partner.

The SSH user name is the partner id; its registered public keys (``sightline sftp add-key``) are
the only credentials. A partner lands in ``<landing>/<partner>/`` and sees it as ``/``: paths with
``..`` are refused outright, absolute paths are resolved inside the chroot, links cannot be
created, and every mapped path is checked (after resolving symlinks) to stay inside the chroot.
"""

from __future__ import annotations

import asyncio
import logging
import os
import posixpath
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
from sqlalchemy.orm import Session, sessionmaker

from sightline.config import Settings
from sightline.errors import BadRequest, Conflict, NotFound
from sightline.ingest import repository as repo
from sightline.ingest.watcher import ensure_layout
from sightline.store.db import transaction
from sightline.store.models import Partner

log = logging.getLogger("sightline.ingest.sftp")


def add_key(session: Session, partner_id: str, public_key: str) -> str:
    if session.get(Partner, partner_id) is None:
        raise NotFound(f"Partner {partner_id} not found.")
    try:
        key = asyncssh.import_public_key(public_key.strip())
    except (asyncssh.KeyImportError, ValueError):
        raise BadRequest(
            "Not an OpenSSH public key (ssh-ed25519 AAAA… or ssh-rsa AAAA…)."
        ) from None
    fingerprint = str(key.get_fingerprint("sha256"))
    if any(k.fingerprint == fingerprint for k in repo.sftp_keys(session)):
        raise Conflict(f"Key {fingerprint} is already registered.")
    exported = key.export_public_key("openssh").decode().strip()
    repo.add_sftp_key(session, partner_id, exported, fingerprint)
    return fingerprint


def host_key(settings: Settings) -> asyncssh.SSHKey:
    path = settings.data_dir / "sftp" / "ssh_host_ed25519_key"
    if path.is_file():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    path.chmod(0o600)
    return key


class ChrootSFTPServer(asyncssh.SFTPServer):
    """SFTP confined to one directory."""

    def __init__(self, chan: asyncssh.SSHServerChannel, root: Path) -> None:
        self._jail = os.fsencode(root.resolve())
        super().__init__(chan, chroot=self._jail)

    def map_path(self, path: bytes) -> bytes:
        if b".." in path.split(b"/"):
            raise asyncssh.SFTPPermissionDenied("'..' is not allowed")
        local = super().map_path(path)
        real = os.path.realpath(local)
        if real != self._jail and not real.startswith(self._jail + b"/"):
            raise asyncssh.SFTPPermissionDenied("outside the landing folder")
        return local

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        # Like asyncssh's, minus the '.' and '..' entries (whose look-up would need '..').
        with os.scandir(self.map_path(path)) as entries:
            for entry in entries:
                attrs = asyncssh.SFTPAttrs.from_local(entry.stat(follow_symlinks=False))
                yield asyncssh.SFTPName(os.fsencode(entry.name), attrs=attrs)

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links are not allowed")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links are not allowed")


class _SSHServer(asyncssh.SSHServer):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._keys: set[str] = set()

    def begin_auth(self, username: str) -> bool:
        with transaction(self._sessions) as session:
            self._keys = {k.fingerprint for k in repo.sftp_keys(session, username)}
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return str(key.get_fingerprint("sha256")) in self._keys


async def start_server(
    sessions: sessionmaker[Session], settings: Settings, *, host: str, port: int
) -> asyncssh.SSHAcceptor:
    """Start listening; returns the acceptor (``.close()`` it; ``.sockets`` has the port)."""
    landing = settings.resolved_landing_dir
    landing.mkdir(parents=True, exist_ok=True)

    def sftp_factory(chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
        username = str(chan.get_extra_info("username"))
        root = ensure_layout(settings, username)
        log.info("sftp session", extra={"fields": {"partner_id": username}})
        return ChrootSFTPServer(chan, root)

    options: dict[str, Any] = {
        "server_host_keys": [host_key(settings)],
        "sftp_factory": sftp_factory,
        "allow_scp": False,
        "agent_forwarding": False,
        "x11_forwarding": False,
        "allow_pty": False,
    }
    return await asyncssh.create_server(lambda: _SSHServer(sessions), host, port, **options)


async def serve_forever(
    sessions: sessionmaker[Session], settings: Settings, *, host: str, port: int
) -> None:
    server = await start_server(sessions, settings, host=host, port=port)
    log.info("sftp listening", extra={"fields": {"host": host, "port": port}})
    try:
        await asyncio.Event().wait()
    finally:
        server.close()
        await server.wait_closed()


def chroot_path(root: Path, sftp_path: str) -> Path:
    """Where an SFTP path lands inside a partner's root (for docs and tests)."""
    return root / posixpath.normpath("/" + sftp_path).lstrip("/")
