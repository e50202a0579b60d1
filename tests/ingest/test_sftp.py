"""A real SFTP server (asyncssh) on loopback: key authentication, one chroot per partner that
cannot be left, an upload by a real SFTP client, then ingested by the watcher."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest.sftp import add_key, start_server
from sightline.ingest.watcher import scan_once
from sightline.store import db
from tests.conftest import PartnerKey
from tests.ingest.helpers import lake_count, make_customer, make_txn, write_csv


async def _session(
    context: AppContext, settings: Settings, tmp_path: Path, acme_key: asyncssh.SSHKey
) -> None:
    server = await start_server(context.sessions, settings, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    try:
        common = {"host": "127.0.0.1", "port": port, "known_hosts": None}
        # a key that is not registered is refused, and so is acme's key for another partner
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(username="acme", client_keys=[stranger], **common)
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(username="globex", client_keys=[acme_key], **common)
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(username="acme", password="x", client_keys=None, **common)
        async with asyncssh.connect(username="acme", client_keys=[acme_key], **common) as conn:
            # no shell or command execution, only SFTP
            with pytest.raises((asyncssh.ChannelOpenError, asyncssh.ProcessError)):
                await conn.run("id", check=True)
            async with conn.start_sftp_client() as sftp:
                assert {"customers", "transactions"} <= set(await sftp.listdir("/"))
                await sftp.put(str(tmp_path / "customers.csv"), "/customers/customers.csv")
                await sftp.put(str(tmp_path / "t.csv"), "transactions/t.csv")
                # escapes are refused
                for bad in (
                    "../globex/transactions/x.csv",
                    "/../../etc/passwd",
                    "customers/../../x",
                ):
                    with pytest.raises(asyncssh.SFTPError):
                        await sftp.put(str(tmp_path / "t.csv"), bad)
                with pytest.raises(asyncssh.SFTPError):
                    await sftp.get("/etc/passwd", str(tmp_path / "stolen"))
                with pytest.raises(asyncssh.SFTPError):
                    await sftp.listdir("..")
                with pytest.raises(asyncssh.SFTPError):
                    await sftp.symlink("/etc", "etc")
                assert await sftp.realpath("/") == "/"
    finally:
        server.close()
        await server.wait_closed()


def test_upload_over_sftp_is_ingested(
    tmp_path: Path, context: AppContext, settings: Settings, acme: PartnerKey, globex: PartnerKey
) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    public = key.export_public_key("openssh").decode()
    with db.transaction(context.sessions) as s:
        add_key(s, "acme", public)
    with db.transaction(context.sessions) as s, pytest.raises(Exception, match="already"):
        add_key(s, "globex", public)
    with db.transaction(context.sessions) as s, pytest.raises(Exception, match="OpenSSH"):
        add_key(s, "globex", "not a key")
    write_csv(tmp_path / "customers.csv", [make_customer()])
    write_csv(tmp_path / "t.csv", [make_txn(), make_txn(txn_id="t2")])
    asyncio.run(_session(context, settings, tmp_path, key))
    landing = settings.resolved_landing_dir
    assert (landing / "acme" / "transactions" / "t.csv").is_file()
    assert not (landing / "globex" / "transactions" / "x.csv").exists()
    assert not (tmp_path / "stolen").exists()
    landed = scan_once(context.sessions, settings, stable_seconds=0)
    assert sorted(x.summary.status for x in landed) == ["succeeded", "succeeded"]
    assert lake_count(settings.lake_dir, "transactions") == 2
