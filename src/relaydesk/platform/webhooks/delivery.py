"""One signed POST of one message, and what came of it.

aiohttp, not httpx: its connection pool holds up under concurrency (encode/httpx#3215). The
connector resolves through the SSRF guard (``infra.net.ssrf``), which pins the checked
addresses for the connection; redirects are never followed and proxies never used.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from relaydesk.infra.net import ssrf
from relaydesk.kit.time import utcnow
from relaydesk.platform.webhooks import signing

USER_AGENT = "Relaydesk-Webhooks/1.0"
RESPONSE_KEEP = 1024  # bytes of the response body kept on the attempt
TARGETS_KEPT = 4096  # parsed webhook URLs kept by a sender


@dataclass(slots=True)
class Job:
    """A claimed message, ready to send."""

    message_pk: int
    message_id: str  # msg_…: the webhook-id header
    webhook_id: int
    workspace_id: int
    url: str
    keys: list[str]  # signing secrets: the current one, and the previous during a rotation
    body: bytes
    attempt_count: int  # attempts made before this one (since the last (re)queue)
    lease_until: datetime
    probe: bool = False  # the one message a throttled webhook sends to test the water


@dataclass(slots=True)
class Outcome:
    job: Job
    attempted_on: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response: str | None
    succeeded: bool
    retriable: bool
    retry_after: float | None = None  # seconds, from the response's Retry-After


def is_retriable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After``: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


class Sender:
    """Holds the HTTP client (create and close it inside the event loop)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout_seconds: float,
        concurrency: int,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.concurrency = concurrency
        self.resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._targets: dict[str, URL | str] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = ssrf.guarded_connector(
                allow_private=self.allow_private,
                limit=self.concurrency,
                resolver=self.resolver,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, trust_env=False
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _target(self, url: str) -> URL | str:
        """The parsed URL to post to, or why it is blocked; kept per URL (a webhook's URL is
        checked and parsed once, not on every delivery)."""
        found = self._targets.get(url)
        if found is None:
            try:
                ssrf.check_ip_literal_host(url, allow_private=self.allow_private)
                found = URL(url)
            except (ssrf.UnsafeURL, ValueError, TypeError) as exc:
                found = str(exc)
            if len(self._targets) >= TARGETS_KEPT:
                self._targets.clear()
            self._targets[url] = found
        return found

    async def send(self, job: Job) -> Outcome:
        attempted_on = utcnow()
        started = time.perf_counter()

        def done(
            status: int | None,
            error: str | None,
            response: str | None,
            *,
            retriable: bool,
            retry_after: float | None = None,
        ) -> Outcome:
            return Outcome(
                job=job,
                attempted_on=attempted_on,
                status_code=status,
                duration_ms=int((time.perf_counter() - started) * 1000),
                error=error,
                response=response,
                succeeded=status is not None and 200 <= status < 300,
                retriable=retriable,
                retry_after=retry_after,
            )

        target = self._target(job.url)
        if isinstance(target, str):
            return done(None, f"blocked: {target}", None, retriable=False)
        timestamp = int(attempted_on.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": job.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                job.keys, job.message_id, timestamp, job.body
            ),
        }
        try:
            async with self._client().post(
                target, data=job.body, headers=headers, allow_redirects=False
            ) as response:
                raw = await response.content.read(RESPONSE_KEEP)
                text = raw.decode("utf-8", errors="replace")
                status = response.status
                if 200 <= status < 300:
                    return done(status, None, text, retriable=False)
                retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
                return done(
                    status,
                    f"HTTP {status}",
                    text,
                    retriable=is_retriable_status(status),
                    retry_after=retry_after,
                )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ssrf.ForbiddenAddressError):
                return done(None, f"blocked: {exc.os_error}", None, retriable=False)
            return done(None, f"connection error: {exc}", None, retriable=True)
        except TimeoutError:
            return done(None, "timeout", None, retriable=True)
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            return done(None, f"{type(exc).__name__}: {exc}", None, retriable=True)
