"""The floors: the three functions behind bare Starlette on uvicorn.

``POST /greeting``, ``/tensor`` and ``/sleep`` take the JSON inputs and answer
the result as JSON, with uvloop and httptools and no access log. Two ways to
call the function:

- in process (the default): on the event loop, inside the request. No server
  of Python functions can do less per request.
- ``--prefork``: in one worker process forked before the server starts. The
  server passes each request's body over a socketpair and returns the reply;
  ``FLOOR_WORKER_THREADS`` threads (1 by default) run functions at once in it.
  This is the least that isolating user code in a process of its own costs.

::

    python floor.py --port PORT [--prefork]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import struct
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

import functions
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Both directions: request id, body length, and the route (to the worker) or
# whether the call failed (from it).
HEADER = struct.Struct("!IIB")
OK, FAILED = 0, 1

CALLS: dict[str, Callable[[dict[str, Any]], object]] = {
    "greeting": lambda inputs: functions.greeting(inputs["name"]),
    "tensor": lambda inputs: functions.tensor_sum(inputs["data"]),
    "sleep": lambda inputs: functions.sleep(),
}
ROUTES = list(CALLS)


def answer(route: str, body: bytes) -> bytes:
    """The JSON reply to one request's body."""
    inputs = json.loads(body) if body else {}
    return json.dumps(CALLS[route](inputs)).encode()


# ---------- in process ----------


async def call_in_process(request: Request) -> Response:
    route = request.path_params["route"]
    if route not in CALLS:
        return Response(status_code=404)
    reply = answer(route, await request.body())
    return Response(reply, media_type="application/json")


# ---------- in a pre-forked worker ----------


class WorkerLink:
    """The server's end of the socketpair: requests out, replies matched by id."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel
        self.ids = itertools.count()
        self.pending: dict[int, asyncio.Future[tuple[int, bytes]]] = {}

    async def start(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(sock=self.channel)
        self.receiver = asyncio.create_task(self.receive())

    async def call(self, route: int, body: bytes) -> tuple[int, bytes]:
        request_id = next(self.ids) % 2**32
        reply: asyncio.Future[tuple[int, bytes]] = (
            asyncio.get_running_loop().create_future()
        )
        self.pending[request_id] = reply
        self.writer.write(HEADER.pack(request_id, len(body), route) + body)
        await self.writer.drain()
        return await reply

    async def receive(self) -> None:
        while True:
            request_id, length, status = HEADER.unpack(
                await self.reader.readexactly(HEADER.size)
            )
            body = await self.reader.readexactly(length)
            self.pending.pop(request_id).set_result((status, body))


async def call_in_worker(request: Request) -> Response:
    route = request.path_params["route"]
    if route not in CALLS:
        return Response(status_code=404)
    link: WorkerLink = request.app.state.worker
    status, reply = await link.call(ROUTES.index(route), await request.body())
    return Response(
        reply, status_code=500 if status else 200, media_type="application/json"
    )


def serve_worker(channel: socket.socket, threads: int) -> None:
    """The worker's loop: read requests until the server closes its end."""
    reader = channel.makefile("rb")
    sending = threading.Lock()
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    while (request := read_request(reader)) is not None:
        if pool is None:  # serial: no hop to another thread
            handle(channel, sending, *request)
        else:
            pool.submit(handle, channel, sending, *request)


def read_request(reader: BinaryIO) -> tuple[int, int, bytes] | None:
    header = reader.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    request_id, length, route = HEADER.unpack(header)
    return request_id, route, reader.read(length)


def handle(
    channel: socket.socket,
    sending: threading.Lock,
    request_id: int,
    route: int,
    body: bytes,
) -> None:
    try:
        status, reply = OK, answer(ROUTES[route], body)
    except Exception as error:  # the server answers 500; the worker goes on
        status, reply = FAILED, json.dumps(repr(error)).encode()
    with sending:
        channel.sendall(HEADER.pack(request_id, len(reply), status) + reply)


def fork_worker(threads: int) -> socket.socket:
    """The server's end of a socketpair to a newly forked worker."""
    ours, theirs = socket.socketpair()
    if os.fork() == 0:
        ours.close()
        with contextlib.suppress(KeyboardInterrupt):
            serve_worker(theirs, threads)
        os._exit(0)
    theirs.close()
    return ours


# ---------- the server ----------


@contextlib.asynccontextmanager
async def start_worker_link(app: Starlette) -> AsyncIterator[None]:
    await app.state.worker.start()
    yield


def create_app(is_prefork: bool) -> Starlette:
    if not is_prefork:
        routes = [Route("/{route}", call_in_process, methods=["POST"])]
        return Starlette(routes=routes)
    threads = int(os.environ.get("FLOOR_WORKER_THREADS", "1"))
    app = Starlette(
        routes=[Route("/{route}", call_in_worker, methods=["POST"])],
        lifespan=start_worker_link,
    )
    app.state.worker = WorkerLink(fork_worker(threads))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefork", action="store_true")
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.prefork),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
