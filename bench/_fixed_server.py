"""A loopback HTTP/1.1 server that answers every request with the same precomputed bytes.

Row 1 measures clients, so the server must cost almost nothing and must not share the clients' GIL:
it runs in its own process (``python -m bench._fixed_server BODY_FILE``), prints its port, and stops
when its stdin closes (the parent exits or closes the pipe) or after a deadline, whichever is first.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading

# A safety net: a forgotten server must not outlive a benchmark run by much.
MAX_LIFETIME_S = 30 * 60


def response_bytes(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-request-id: req_bench_fixed\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


async def serve(response: bytes, stop: asyncio.Event) -> None:
    writers: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        try:
            # Keep-alive: one fixed answer per request head; the clients only send GETs (no body).
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writers.discard(writer)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 16)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), MAX_LIFETIME_S)
    # Clients may still hold keep-alive connections: close them rather than wait for them.
    server.close()
    for writer in list(writers):
        writer.close()
    # Closing a writer ends its handler's read with EOF; let them finish instead of being cancelled.
    if handlers:
        await asyncio.wait(handlers, timeout=2)


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        response = response_bytes(f.read())

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def watch_stdin() -> None:
            sys.stdin.read()  # returns at EOF: the parent is done with us
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, daemon=True).start()
        await serve(response, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
