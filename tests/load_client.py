"""An open-loop HTTP load generator on loopback: answers posted to the API at a fixed rate.

Open loop: request ``n`` is due at ``start + n / rate`` whether or not the server kept up,
and its latency is counted from that moment (not from when a connection was free), so a
server that falls behind shows it in the latency instead of slowing the client down (no
coordinated omission). Requests go over ``connections`` kept-alive HTTP/1.1 connections,
spread over the given ports (two single-process servers, or one port shared by
``--workers``). A minimal client over asyncio streams: the generator must cost far less
CPU than the server it measures, on a machine where both share the cores.

    results = run_load(ports, key, survey_id, rate=200, seconds=30)
    accepted = [r for r in results if r.accepted]          # 2xx, with the stored id

``run_closed`` sends back to back from every connection (the maximum a server sustains).
Each request's answer is kept: its status, the response id of a 2xx, the Retry-After of a
503 and the first bytes of any other body, so that tests can check what was said.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

COMMENTS = (
    "The delivery was late and nobody answered my emails",
    "Friendly staff, solved at once",
    "Too expensive for what it is",
    "Great product, slow support",
    "",
)
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Result:
    number: int
    status: int
    """The HTTP status; 0 when no answer came (refused, reset, timed out)."""
    latency: float
    """Seconds from when the request was due to when its answer was read."""
    response_id: int | None = None
    score: int = 0
    retry_after: str | None = None
    body: bytes = b""
    error: str = ""

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300 and self.response_id is not None


def body_of(number: int) -> tuple[int, bytes]:
    score = (number * 7) % 11
    comment = COMMENTS[number % len(COMMENTS)]
    document: dict[str, object] = {"score": score, "channel": "web"}
    if comment:
        document["comment"] = comment
    return score, json.dumps(document).encode()


class _Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, path: str, key: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        content = await self.reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, content


@dataclass
class _Plan:
    ports: Sequence[int]
    key: str
    survey_id: int
    results: list[Result] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def path(self) -> str:
        return f"/api/v1/surveys/{self.survey_id}/responses"

    async def one(self, connection: _Connection, number: int, due: float) -> None:
        score, body = body_of(number)
        try:
            status, headers, content = await asyncio.wait_for(
                connection.post(self.path, self.key, body), TIMEOUT_SECONDS
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            await connection.close()
            self.results.append(
                Result(number, 0, time.perf_counter() - due, score=score, error=repr(error))
            )
            return
        latency = time.perf_counter() - due
        response_id = None
        if 200 <= status < 300:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                response_id = int(json.loads(content)["id"])
        self.results.append(
            Result(
                number,
                status,
                latency,
                response_id,
                score,
                headers.get("retry-after"),
                content[:300] if status >= 300 else b"",
            )
        )


async def _open_loop(plan: _Plan, rate: float, seconds: float, connections: int) -> None:
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def sender(index: int) -> None:
        connection = _Connection(plan.ports[index % len(plan.ports)])
        while (job := await queue.get()) is not None:
            await plan.one(connection, *job)
        await connection.close()

    tasks = [asyncio.create_task(sender(i)) for i in range(connections)]
    start = time.perf_counter()
    total = int(rate * seconds)
    for number in range(total):
        if plan.stop.is_set():
            break
        due = start + number / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        queue.put_nowait((number, due))
    for _ in tasks:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)


async def _closed_loop(plan: _Plan, seconds: float, connections: int, first: int) -> None:
    deadline = time.perf_counter() + seconds
    counter = iter(range(first, first + 10**9))

    async def sender(index: int) -> None:
        connection = _Connection(plan.ports[index % len(plan.ports)])
        while time.perf_counter() < deadline and not plan.stop.is_set():
            await plan.one(connection, next(counter), time.perf_counter())
        await connection.close()

    await asyncio.gather(*(sender(i) for i in range(connections)))


def run_load(
    ports: Sequence[int],
    key: str,
    survey_id: int,
    *,
    rate: float,
    seconds: float,
    connections: int = 64,
    stop: threading.Event | None = None,
    into: list[Result] | None = None,
) -> list[Result]:
    """Answers at ``rate`` per second for ``seconds`` (open loop); every request's result,
    each in-flight request waited for. ``stop`` ends it early; ``into`` is filled as the
    answers come (for a watcher in another thread)."""
    plan = _Plan(ports, key, survey_id, [] if into is None else into)
    if stop is not None:
        plan.stop = stop
    asyncio.run(_open_loop(plan, rate, seconds, connections))
    return plan.results


def run_closed(
    ports: Sequence[int],
    key: str,
    survey_id: int,
    *,
    seconds: float,
    connections: int,
    first: int = 10**8,
) -> list[Result]:
    """Back-to-back requests from ``connections`` connections for ``seconds``."""
    plan = _Plan(ports, key, survey_id)
    asyncio.run(_closed_loop(plan, seconds, connections, first))
    return plan.results


class Background:
    """``run_load`` in a thread, its results filled as they come::

    with Background(lambda stop, into: run_load(..., stop=stop, into=into)) as load:
        ...load.results...
    """

    def __init__(self, target: Callable[[threading.Event, list[Result]], object]) -> None:
        self.stop = threading.Event()
        self.results: list[Result] = []
        self._target = target
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self._target(self.stop, self.results)

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(TIMEOUT_SECONDS * 3)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def accepted(self) -> list[Result]:
        return [r for r in list(self.results) if r.accepted]


def quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
