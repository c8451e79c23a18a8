"""HTTP/1.1 behaviour clients rely on: keep-alive, pipelining, chunked bodies, HEAD, HTTP/1.0."""

from __future__ import annotations

import http.client
import socket

import httpx

from airflow_provider_codeocean.testing import ECHO_CAPSULE_ID, SIMULATED_CAPSULE_ID, CodeOceanEmulator

AUTH = {"Authorization": "Basic Y29wX3Rlc3RfdG9rZW46"}  # cop_test_token:


def test_keep_alive_reuses_one_connection(emu: CodeOceanEmulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.connect()
    sock = conn.sock
    for _ in range(5):
        conn.request("GET", f"/api/v1/capsules/{ECHO_CAPSULE_ID}", headers=AUTH)
        response = conn.getresponse()
        assert response.status == 200
        response.read()
        assert conn.sock is sock  # never reconnected
    conn.close()


def test_pipelined_requests(emu: CodeOceanEmulator) -> None:
    auth = f"Authorization: {AUTH['Authorization']}"
    request = f"GET /api/v1/capsules/{ECHO_CAPSULE_ID} HTTP/1.1\r\nHost: x\r\n{auth}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall((request * 3).encode() + b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 4
    assert b"Connection: close" in data


def test_http10_closes(emu: CodeOceanEmulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK")


def test_chunked_body_and_head(emu: CodeOceanEmulator) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"capsule_id": '
        yield f'"{SIMULATED_CAPSULE_ID}"}}'.encode()

    with httpx.Client(base_url=emu.base_url, auth=(emu.token, "")) as client:
        created = client.post("/api/v1/computations", content=chunks(), headers={"Content-Type": "application/json"})
        assert created.status_code == 200, created.text
        head = client.head(f"/api/v1/computations/{created.json()['id']}")
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["Content-Length"]) > 0


async def test_async_clients_share_connections(emu: CodeOceanEmulator) -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    async with httpx.AsyncClient(base_url=emu.base_url, auth=(emu.token, ""), limits=limits) as client:
        for _ in range(3):
            responses = [await client.get(f"/api/v1/capsules/{ECHO_CAPSULE_ID}") for _ in range(10)]
            assert {r.status_code for r in responses} == {200}
    assert len(emu.requests()) == 30
