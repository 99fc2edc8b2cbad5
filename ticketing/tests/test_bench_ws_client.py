"""The benchmark's lean WebSocket client (bench/ws_client.py) against a real WebSocket server.

Its timings are only worth something if it reads what a browser would: every frame size, pings
answered (or the server closes idle sockets), the server's close code.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from websockets.asyncio.server import serve

from bench.ws_client import connect

SIZES = (5, 125, 126, 400, 65535, 70000)


async def _exchange() -> tuple[list[bytes], list[str], bool, int]:
    received_by_server: list[str] = []
    pong_seen = asyncio.Event()

    async def handler(connection) -> None:
        for size in SIZES:
            await connection.send("x" * size)
        pong_waiter = await connection.ping(b"are you there")
        await asyncio.wait_for(pong_waiter, 5)
        pong_seen.set()
        received_by_server.append(await asyncio.wait_for(connection.recv(), 5))
        await connection.close(1013, "try again later")

    texts: list[bytes] = []

    def on_text(socket, _now: float, raw: bytes) -> None:
        texts.append(raw)
        if len(texts) == len(SIZES):
            socket.send_text("héllo")

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        client = await connect(f"ws://127.0.0.1:{port}/ws/test/?token=abc", on_text)
        code = await asyncio.wait_for(client.closed, 10)
    return texts, received_by_server, pong_seen.is_set(), code


def test_lean_client_reads_every_frame_size_answers_pings_and_reports_the_close_code():
    # A fresh thread: its own event loop, whatever loop the test session left in the main thread.
    with ThreadPoolExecutor(1) as pool:
        texts, received_by_server, pong_seen, code = pool.submit(asyncio.run, _exchange()).result(30)
    assert [len(text) for text in texts] == list(SIZES)
    assert all(set(text) == {ord("x")} for text in texts)
    assert pong_seen
    assert received_by_server == ["héllo"]  # masked as a client must, or the server would refuse it
    assert code == 1013


def test_lean_client_refuses_a_failed_handshake():
    async def attempt() -> str:
        async def refuse(connection, request):
            return connection.respond(403, "no")

        async with serve(lambda connection: None, "127.0.0.1", 0, process_request=refuse) as server:
            port = server.sockets[0].getsockname()[1]
            try:
                await connect(f"ws://127.0.0.1:{port}/", lambda *args: None, timeout=5)
            except ConnectionError as error:
                return str(error)
        return "connected"

    with ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(asyncio.run, attempt()).result(30)
    assert outcome == "closed during the handshake"
