"""The ``webhook`` task: posting queued deliveries to their endpoints.

A batch of claimed outbox items is sent at once: one read of the deliveries and their
endpoints, the requests posted in parallel (``PARALLEL`` threads sharing one HTTP client and
its kept-alive connections, ``TIMEOUT_SECONDS`` each), and one transaction that records every
attempt on its delivery row. A 2xx answer is a delivery; anything else (another status, a
timeout, a refused connection) is retried with the outbox's backoff, or after the receiver's
``Retry-After`` when it is longer, up to ``MAX_ATTEMPTS`` attempts (about two and a half
days). Redirects are not followed (the URL should be changed instead).

An endpoint that keeps failing is switched off: after ``DISABLE_AFTER_FAILURES`` failed
attempts in a row spanning at least ``DISABLE_AFTER`` (or at once on ``410 Gone``, which is
how a receiver says it wants no more), with the reason recorded and its owners emailed
(``act.webhook_emails``). Its waiting deliveries then become ``dead``; switching it back on
and replaying them (``store.webhooks.replay_failed``) sends them with their event ids.

Delivery is at least once: the attempt is recorded in its own transaction before the runner
records the item's outcome, so a worker that dies in between leaves an item that is claimed
again once its lock expires, and a delivery already ``delivered`` is then not sent again; a
worker that dies while posting leaves a delivery that is posted again (same event id).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cxpulse.act import events, webhook_emails
from cxpulse.act.jobs import REGISTRY, JobRegistry
from cxpulse.act.tasks import (
    TASKS,
    Done,
    GiveUp,
    Outcome,
    Retry,
    TaskContext,
    TaskHandler,
    TaskRegistry,
)
from cxpulse.act.webhook_signing import request_headers
from cxpulse.store import outbox, webhooks
from cxpulse.store.outbox import Claimed
from cxpulse.store.webhooks import Attempt, Job

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "KIND",
    "WEBHOOK_TASK",
    "deliver",
    "register",
    "slack_message",
    "teams_message",
]

KIND = webhooks.OUTBOX_KIND
TIMEOUT_SECONDS = 5.0
PARALLEL = 16
"""Requests in flight at once; the HTTP client keeps as many connections open."""
BATCH = 500
MAX_ATTEMPTS = 20
"""With the outbox's backoff (30 s doubling, at most 6 h): about 62 hours of trying."""
DISABLE_AFTER_FAILURES = 20
DISABLE_AFTER = timedelta(hours=24)
MAX_RESPONSE_BYTES = 64 * 1024
"""Read of a receiver's answer, so that the connection can be used again; the rest is
dropped (and the connection with it)."""
USER_AGENT = "cxpulse-webhooks/1"
MAX_SUMMARY_LINES = 12
"""Fields of an event shown in a Slack or Teams message (the rest is in the signed JSON)."""


# -- what is posted ----------------------------------------------------------------------------


def _summary(payload: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """Title, text and link of an event for people (Slack, Teams)."""
    data = payload.get("data") or {}
    if payload.get("type") == events.NOTIFICATION:
        return str(data.get("title") or ""), str(data.get("text") or ""), data.get("link")
    lines: list[str] = []
    for name, value in data.items():
        # One level of nesting is shown too: a case event carries {"case": {...}}.
        inner = value.items() if isinstance(value, dict) else [("", value)]
        for key, item in inner:
            if isinstance(item, str | int | float | bool) and item != "":
                lines.append(f"{name}.{key}: {item}" if key else f"{name}: {item}")
    lines = lines[:MAX_SUMMARY_LINES]
    link = data.get("link") if isinstance(data.get("link"), str) else None
    return f"cxpulse: {payload.get('type')}", "\n".join(lines), link


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup (links, mentions); these three are escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` for notifications and old clients,
    ``blocks`` for the layout."""
    title, text, link = _summary(payload)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150] or "cxpulse"}}
    ]
    if text:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(text)[:3000]}}
        )
    if link:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open in cxpulse"}}
        blocks.append({"type": "actions", "elements": [{**button, "url": link}]})
    fallback = _slack_escape(f"{title}\n{text}".strip())
    return {"text": fallback[:3000], "blocks": blocks}


def teams_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Microsoft Teams message: an Adaptive Card, as the Teams "incoming webhook"
    workflows accept."""
    title, text, link = _summary(payload)
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True}
        ],
    }
    if text:
        card["body"].append({"type": "TextBlock", "text": text, "wrap": True})
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in cxpulse", "url": link}]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def request_of(job: Job, timestamp: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers posted for ``job``; standard endpoints' are signed."""
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    if job.format == "slack":
        message = slack_message(job.payload)
    elif job.format == "teams":
        message = teams_message(job.payload)
    else:
        body = json.dumps(job.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers.update(request_headers(job.event_id, timestamp, body, job.secrets))
        return body, headers
    # Slack and Teams take no signature: their URL is the secret.
    return json.dumps(message, ensure_ascii=False).encode(), headers


# -- posting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str | None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Poster:
    """One HTTP client (its connections kept alive) and the threads that share it."""

    def __init__(self, parallel: int = PARALLEL, timeout: float = TIMEOUT_SECONDS) -> None:
        # Imported here: the HTTP client costs start-up time that only a worker delivering
        # webhooks needs.
        import httpx2

        self.client: httpx2.Client = httpx2.Client(
            timeout=timeout,
            follow_redirects=False,
            limits=httpx2.Limits(max_connections=parallel, max_keepalive_connections=parallel),
        )
        self.pool = ThreadPoolExecutor(parallel, thread_name_prefix="webhook")

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        import httpx2

        try:
            with self.client.stream("POST", url, content=body, headers=headers) as response:
                read = 0
                for chunk in response.iter_bytes():
                    read += len(chunk)
                    if read > MAX_RESPONSE_BYTES:
                        break
                status = response.status_code
                if 200 <= status < 300:
                    return Answer(status, None)
                return Answer(status, f"HTTP {status}", _retry_after(response.headers))
        except httpx2.TimeoutException:
            return Answer(None, f"no answer within {self.client.timeout.read or 0:g} s")
        except httpx2.HTTPError as error:
            return Answer(None, f"{type(error).__name__}: {error}"[:500] or "connection failed")

    def post_all(self, requests: Sequence[tuple[str, bytes, Mapping[str, str]]]) -> list[Answer]:
        return list(self.pool.map(lambda request: self.post(*request), requests))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    if value.isascii() and value.isdecimal() and len(value) < 9:
        return float(value)
    return None


_poster: Poster | None = None
_poster_lock = threading.Lock()


def shared_poster() -> Poster:
    """The process's poster, made on first use (the worker keeps it for its life)."""
    global _poster
    with _poster_lock:
        if _poster is None:
            _poster = Poster()
        return _poster


def close_shared_poster() -> None:
    """Close the process's poster (its connections and threads); the next use makes one."""
    global _poster
    with _poster_lock:
        if _poster is not None:
            _poster.close()
            _poster = None


# -- the task ----------------------------------------------------------------------------------


def _delay(item: Claimed, answer: Answer) -> timedelta:
    # A little jitter, so that a receiver that failed under load is not hit by every
    # retry in the same second.
    base = outbox.backoff(item.attempts).total_seconds() * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not a secret
    wanted = min(answer.retry_after or 0.0, outbox.MAX_BACKOFF_SECONDS)
    return timedelta(seconds=max(base, wanted))


def deliver(
    context: TaskContext, items: Sequence[Claimed], poster: Poster | None = None
) -> list[Outcome]:
    """Post the deliveries of ``items``, record each attempt, switch off endpoints that keep
    failing; one outcome per item."""
    now = context.clock()
    wanted: dict[int, int] = {}
    for position, item in enumerate(items):
        delivery_id = item.payload.get("delivery_id")
        if isinstance(delivery_id, int):
            wanted.setdefault(delivery_id, position)
    with context.read_sessions() as session:
        jobs = webhooks.load_jobs(session, list(wanted), now)
    outcomes: list[Outcome | None] = [None] * len(items)
    attempts: list[Attempt] = []
    to_send: list[tuple[int, Job]] = []
    for position, item in enumerate(items):
        delivery_id = item.payload.get("delivery_id")
        job = jobs.get(delivery_id) if isinstance(delivery_id, int) else None
        if job is None:
            outcomes[position] = Done("the delivery or its endpoint was deleted")
        elif wanted[job.delivery_id] != position:
            outcomes[position] = Done("sent by another item of the same batch")
        elif job.state == "delivered":
            outcomes[position] = Done("delivered already")
        elif not job.enabled and job.event_type != events.TEST_EVENT:
            attempts.append(
                Attempt(job, "dead", error="the endpoint is switched off", posted=False)
            )
            outcomes[position] = GiveUp("the endpoint is switched off")
        else:
            to_send.append((position, job))
    stamp = int(time.time())
    requests = [(job.url, *request_of(job, stamp)) for _, job in to_send]
    answers = (poster or shared_poster()).post_all(requests)
    gone: dict[int, str] = {}
    for (position, job), answer in zip(to_send, answers, strict=True):
        item = items[position]
        if answer.ok:
            attempts.append(Attempt(job, "delivered", status=answer.status))
            outcomes[position] = Done()
            continue
        error = answer.error or "failed"
        if answer.status == 410:
            gone[job.endpoint_id] = "the receiver answered 410 Gone: it wants no more events"
        last = item.attempts >= MAX_ATTEMPTS or answer.status == 410
        attempts.append(Attempt(job, "dead" if last else "failed", answer.status, error))
        outcomes[position] = GiveUp(error) if last else Retry(error, _delay(item, answer))
    with context.sessions.begin() as session:
        webhooks.record_attempts(session, attempts, now)
        failing = {a.job.endpoint_id: a for a in attempts if a.state != "delivered"}
        _switch_off(session, failing, gone, now)
    return [outcome if outcome is not None else Done() for outcome in outcomes]


def _switch_off(
    session: Session, failing: Mapping[int, Attempt], gone: Mapping[int, str], now: datetime
) -> None:
    if not failing:
        return
    counts = webhooks.consecutive_failures(session, list(failing))
    for endpoint_id, count in sorted(counts.items()):
        reason = gone.get(endpoint_id)
        if reason is None and count >= DISABLE_AFTER_FAILURES:
            since = webhooks.failing_since(session, endpoint_id)
            if since is not None and since <= now - DISABLE_AFTER:
                last = failing[endpoint_id].error or "failed"
                reason = (
                    f"{count} failed attempts in a row since {since:%Y-%m-%d %H:%M} UTC "
                    f"(the last: {last})"
                )
        if reason is not None and webhooks.disable(session, endpoint_id, reason):
            organisation_id = failing[endpoint_id].job.organisation_id
            webhook_emails.enqueue(session, organisation_id, endpoint_id, reason, now)


def _run(context: TaskContext, items: Sequence[Claimed]) -> Sequence[Outcome]:
    return deliver(context, items)


WEBHOOK_TASK = TaskHandler(KIND, _run, batch=BATCH, max_attempts=MAX_ATTEMPTS)


def register(tasks: TaskRegistry = TASKS, jobs: JobRegistry = REGISTRY) -> None:
    """Let the worker deliver webhooks and send the endpoint-disabled notice (again is
    harmless)."""
    tasks.register(WEBHOOK_TASK)
    webhook_emails.register(jobs)
