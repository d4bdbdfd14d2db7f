"""One signed POST of one message, and what came of it.

aiohttp, not httpx: its connection pool holds up under concurrency (encode/httpx#3215). The
connector resolves through the SSRF guard (``infra.net.ssrf``), which pins the checked
addresses for the connection; redirects are never followed and proxies never used.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from email.utils import parsedate_to_datetime

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from relaydesk.infra.net import ssrf
from relaydesk.kit.time import utcnow
from relaydesk.platform.webhooks import signing
from relaydesk.platform.webhooks.jobs import Attempt, Job, Outcome

USER_AGENT = "Relaydesk-Webhooks/1.0"
RESPONSE_KEEP = 1024  # bytes of the response body kept on the attempt
TARGETS_KEPT = 4096  # parsed webhook URLs kept by a sender


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

    async def start(self) -> None:
        """Nothing to start here (the client is made on first use); see ProcessSender."""

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
        return Outcome(job, *await self.attempt(job.url, job.keys, job.message_id, job.body))

    async def attempt(self, url: str, keys: list[str], message_id: str, body: bytes) -> Attempt:
        """One signed POST: ``(attempted_on, status_code, duration_ms, error, response,
        succeeded, retriable, retry_after)``, the fields of an :class:`Outcome` after its job
        (a plain tuple: the sender process sends it back to the worker as it is)."""
        attempted_on = utcnow()
        started = time.perf_counter()

        def failed(
            status: int | None,
            error: str,
            response: str | None,
            retriable: bool,
            retry_after: float | None = None,
        ) -> Attempt:
            ms = int((time.perf_counter() - started) * 1000)
            return (attempted_on, status, ms, error, response, False, retriable, retry_after)

        target = self._target(url)
        if isinstance(target, str):
            return failed(None, f"blocked: {target}", None, False)
        timestamp = int(attempted_on.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(keys, message_id, timestamp, body),
        }
        try:
            async with self._client().post(
                target, data=body, headers=headers, allow_redirects=False
            ) as response:
                raw = await response.content.read(RESPONSE_KEEP)
                text = raw.decode("utf-8", errors="replace")
                status = response.status
                if 200 <= status < 300:
                    ms = int((time.perf_counter() - started) * 1000)
                    return (attempted_on, status, ms, None, text, True, False, None)
                retry_after = parse_retry_after(response.headers.get("retry-after"), utcnow())
                return failed(
                    status, f"HTTP {status}", text, is_retriable_status(status), retry_after
                )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ssrf.ForbiddenAddressError):
                return failed(None, f"blocked: {exc.os_error}", None, False)
            return failed(None, f"connection error: {exc}", None, True)
        except TimeoutError:
            return failed(None, "timeout", None, True)
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            return failed(None, f"{type(exc).__name__}: {exc}", None, True)
