"""TLS to NATS (``DVCID_NATS_TLS_CA``, shared/nats_tls.py) against a real nats-server set up as
production's (deploy/k8s/nats.yaml: ``tls { handshake_first: true }``)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from dvcid.servers import _bin, free_port, stop, wait_for_port
from shared.bus import connect_nats
from shared.nats_tls import nats_tls_options
from shared.tests.tls_files import write_ca_and_server_certificate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A nats-server that speaks TLS only, from the first byte; yields its URL and CA file."""
    folder = tmp_path_factory.mktemp("nats-tls")
    ca = write_ca_and_server_certificate(folder / "tls")
    port = free_port()
    conf = folder / "nats.conf"
    conf.write_text(f"""
listen: 127.0.0.1:{port}
tls {{
  cert_file: "{folder}/tls/tls.crt"
  key_file: "{folder}/tls/tls.key"
  ca_file: "{folder}/tls/ca.crt"
  handshake_first: true
  min_version: "1.2"
  timeout: 2
}}
""")
    proc = subprocess.Popen([_bin("nats-server"), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=proc)
        yield f"tls://127.0.0.1:{port}", ca
    finally:
        stop(proc)


async def test_a_service_connects_with_the_ca_and_talks(tls_server: tuple[str, Path]) -> None:
    url, ca = tls_server
    nc = await connect_nats(url, name="test", **await nats_tls_options(str(ca)))
    try:
        sub = await nc.subscribe("dvcid.tls.check")
        await nc.publish("dvcid.tls.check", b"over tls")
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"over tls"
    finally:
        await nc.close()


async def test_a_plain_client_is_not_served(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with pytest.raises(Exception):  # noqa: B017 - the client's error varies: no plain NATS here
        await nats.connect(url.replace("tls://", "nats://"), connect_timeout=2,
                           allow_reconnect=False)


async def test_a_server_with_a_certificate_of_another_ca_is_refused(
    tls_server: tuple[str, Path], tmp_path: Path,
) -> None:
    url, _ = tls_server
    other_ca = write_ca_and_server_certificate(tmp_path / "other", ca_name="someone else's CA")
    with pytest.raises(Exception, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await nats.connect(url, connect_timeout=2, allow_reconnect=False,
                           **await nats_tls_options(str(other_ca)))


async def test_an_impostor_speaking_plain_nats_never_gets_a_byte_in_clear(
    tmp_path: Path,
) -> None:
    """Someone on the network answers in the server's place with a plain INFO (no TLS asked
    for), hoping the client carries on in clear with its CONNECT (its credentials). With the
    CA set, the client's first bytes are a TLS handshake, whatever the other side says."""
    ca = write_ca_and_server_certificate(tmp_path / "tls")
    received = bytearray()

    async def impostor(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'INFO {"server_id":"x","version":"2.11.0","proto":1,"max_payload":1048576}\r\n')
        await writer.drain()
        try:
            received.extend(await asyncio.wait_for(reader.read(4096), timeout=3))
        finally:
            writer.close()

    server = await asyncio.start_server(impostor, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(Exception):  # noqa: B017 - the handshake fails, however it says so
            await nats.connect(f"tls://127.0.0.1:{port}", connect_timeout=2,
                               allow_reconnect=False, **await nats_tls_options(str(ca)))
    assert received, "the client sent nothing"
    assert received[:1] == b"\x16"  # a TLS handshake record (ClientHello)
    assert b"CONNECT" not in received
