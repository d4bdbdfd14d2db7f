"""Webhook POSTs from a child process (``RELAYDESK_WEBHOOK_SENDER=process``).

The standalone worker spends its time in two places that fight over one GIL: the HTTP client
(aiohttp: ~90 µs of CPU per POST) and the database (claims and batched attempt records, with
aiosqlite's thread handing the GIL back and forth on every row). :class:`ProcessSender` has the
same interface as :class:`~relaydesk.platform.webhooks.delivery.Sender`, but its POSTs are made
by a child process running this module (``python -m relaydesk.platform.webhooks.sender_process``),
so the worker uses two cores: the child sends, the parent claims, schedules and records
(docs/decisions/0006, "Session 4").

Wire (the child's stdin and stdout, both ways the same framing): a 4-byte big-endian length,
then a pickled list of tuples. Parent → child: ``(seq, url, keys, message_id, body)``. Child →
parent: ``(seq, attempted_on, status_code, duration_ms, error, response, succeeded, retriable,
retry_after)``. Jobs that go out in the same event-loop turn share one frame; so do outcomes.

Nothing is lost when the child dies: the jobs it held come back as failed attempts
(``sender process exited``, retriable), so they are retried on the usual schedule with the
same ``webhook-id`` (at-least-once), and the next send starts a new child. When the parent
dies, the child sees end of input, finishes what it has in flight and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from relaydesk.kit.loop import run_event_loop
from relaydesk.platform.webhooks.jobs import Attempt, Job, Outcome

if TYPE_CHECKING:
    from relaydesk.config import Settings
    from relaydesk.platform.webhooks.delivery import Sender

log = logging.getLogger("relaydesk.webhooks")

HEADER = struct.Struct(">I")
CHILD_EXITED = "sender process exited"

JobWire = tuple[int, str, list[str], str, bytes]
OutcomeWire = tuple[int, Attempt]


def _frame(items: list[Any]) -> bytes:
    data = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


async def _read_frame(reader: asyncio.StreamReader) -> list[Any] | None:
    """The next frame's items, or None at end of input."""
    try:
        head = await reader.readexactly(HEADER.size)
        (size,) = HEADER.unpack(head)
        data = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        return None
    items: list[Any] = pickle.loads(data)  # noqa: S301 - our own child/parent over a pipe
    return items


def make_sender(settings: Settings, *, standalone: bool) -> Sender | ProcessSender:
    """The sender ``RELAYDESK_WEBHOOK_SENDER`` asks for (``auto``: a child process for the
    standalone worker, inline for the worker embedded in ``serve``). A process sender's child
    is started at once, so its start-up overlaps the caller's."""
    mode = settings.webhook_sender
    if mode == "auto":
        mode = "process" if standalone else "inline"
    if mode == "process":
        sender = ProcessSender(
            allow_private=settings.webhook_allow_private,
            timeout_seconds=settings.webhook_timeout_seconds,
            concurrency=settings.webhook_concurrency,
        )
        sender.spawn()
        return sender
    from relaydesk.platform.webhooks.delivery import Sender

    return Sender(
        allow_private=settings.webhook_allow_private,
        timeout_seconds=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
    )


class _Child:
    """One running child, its pipes wrapped for the event loop once the loop runs."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.StreamReader | None = None
        self.task: asyncio.Task[None] | None = None


class ProcessSender:
    """:class:`Sender`'s interface; the POSTs happen in a child process."""

    def __init__(self, *, allow_private: bool, timeout_seconds: float, concurrency: int) -> None:
        self.allow_private = allow_private
        self.timeout_seconds = timeout_seconds
        self.concurrency = concurrency
        self._child: _Child | None = None
        self._connecting = asyncio.Lock()
        self._waiting: dict[int, tuple[Job, asyncio.Future[Outcome]]] = {}
        self._out: list[JobWire] = []
        self._write_scheduled = False
        self._seq = 0
        self.children_started = 0  # tests and logs: how many children this sender started

    def spawn(self) -> None:
        """Start the child process now (no event loop needed: call it as early as possible)."""
        if self._child is not None and self._child.popen.poll() is None:
            return
        args = [
            sys.executable,
            "-m",
            "relaydesk.platform.webhooks.sender_process",
            "--timeout",
            repr(self.timeout_seconds),
            "--concurrency",
            str(self.concurrency),
        ]
        if self.allow_private:
            args.append("--allow-private")
        popen = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: S603
        self._child = _Child(popen)
        self.children_started += 1

    async def start(self) -> None:
        """Start the child if it is not running, and connect its pipes to the running loop."""
        await self._connected()

    async def _connected(self) -> _Child:
        async with self._connecting:  # one connect (or respawn) for all concurrent sends
            child = self._child
            if child is None or (child.writer is None and child.popen.poll() is not None):
                self.spawn()
                child = self._child
            assert child is not None
            if child.writer is None:
                loop = asyncio.get_running_loop()
                assert child.popen.stdin is not None
                assert child.popen.stdout is not None
                reader = asyncio.StreamReader(limit=2**26)
                await loop.connect_read_pipe(
                    lambda: asyncio.StreamReaderProtocol(reader), child.popen.stdout
                )
                transport, protocol = await loop.connect_write_pipe(
                    asyncio.streams.FlowControlMixin, child.popen.stdin
                )
                child.reader = reader
                child.writer = asyncio.StreamWriter(transport, protocol, None, loop)
                child.task = asyncio.create_task(self._read(child), name="relaydesk-sender-reader")
            return child

    async def send(self, job: Job) -> Outcome:
        child = self._child
        if child is None or child.writer is None or child.writer.is_closing():
            child = await self._connected()
        self._seq += 1
        seq = self._seq
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._waiting[seq] = (job, future)
        self._out.append((seq, job.url, job.keys, job.message_id, job.body))
        if not self._write_scheduled:
            self._write_scheduled = True
            loop.call_soon(self._write, child)
        return await future

    def _write(self, child: _Child) -> None:
        self._write_scheduled = False
        batch, self._out = self._out, []
        if not batch:
            return
        writer = child.writer
        if writer is None or writer.is_closing() or child is not self._child:
            self._fail([seq for seq, *_ in batch])
            return
        try:
            writer.write(_frame(batch))
        except (ConnectionError, RuntimeError):
            self._fail([seq for seq, *_ in batch])

    async def _read(self, child: _Child) -> None:
        assert child.reader is not None
        try:
            while (items := await _read_frame(child.reader)) is not None:
                for seq, attempt in items:
                    waiting = self._waiting.pop(seq, None)
                    if waiting is None:
                        continue
                    job, future = waiting
                    if not future.done():
                        future.set_result(Outcome(job, *attempt))
        finally:
            # the child is gone: whatever it held comes back as a retriable failure
            if self._child is child:
                self._child = None
            if child.writer is not None:
                child.writer.close()
            if self._waiting:
                log.warning("webhook sender process exited with %d in flight", len(self._waiting))
                self._fail(list(self._waiting))
            await asyncio.to_thread(child.popen.wait)

    def _fail(self, seqs: list[int]) -> None:
        now = datetime.now(UTC)
        for seq in seqs:
            waiting = self._waiting.pop(seq, None)
            if waiting is None:
                continue
            job, future = waiting
            if not future.done():
                future.set_result(Outcome(job, now, None, 0, CHILD_EXITED, None, False, True, None))

    async def close(self) -> None:
        """End the child's input; it finishes what it holds, answers, and exits."""
        child = self._child
        if child is None:
            return
        if child.writer is None:  # never connected: nothing in flight
            self._child = None
            if child.popen.stdin is not None:
                child.popen.stdin.close()
            await asyncio.to_thread(child.popen.wait)
            return
        child.writer.close()
        assert child.task is not None
        try:
            await asyncio.wait_for(asyncio.shield(child.task), self.timeout_seconds + 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.popen.kill()
            await child.task
        self._child = None


# -- the child ---------------------------------------------------------------------------


async def _serve(sender: Sender) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(1, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    out: list[OutcomeWire] = []
    scheduled = False
    tasks: set[asyncio.Task[None]] = set()

    def flush() -> None:
        nonlocal scheduled, out
        scheduled = False
        batch, out = out, []
        if batch and not writer.is_closing():
            writer.write(_frame(batch))

    async def one(item: JobWire) -> None:
        nonlocal scheduled
        seq, url, keys, message_id, body = item
        try:
            attempt = await sender.attempt(url, keys, message_id, body)
        except Exception as exc:  # a bug, not a delivery failure: still answer (retriable)
            log.exception("webhook sender crashed")
            attempt = (
                datetime.now(UTC),
                None,
                0,
                f"sender error: {exc!r}",
                None,
                False,
                True,
                None,
            )
        out.append((seq, attempt))  # not out.append(await …): `out` may be a new list by then
        if not scheduled:
            scheduled = True
            loop.call_soon(flush)

    try:
        while (items := await _read_frame(reader)) is not None:
            for item in items:
                task = loop.create_task(one(item))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:  # end of input: finish what was handed over, answer, exit
            await asyncio.wait(tasks)
        flush()
        with contextlib.suppress(ConnectionError):
            await writer.drain()
    finally:
        await sender.close()
        writer.close()


def main(argv: list[str] | None = None) -> None:
    from relaydesk.platform.webhooks.delivery import Sender

    parser = argparse.ArgumentParser(prog="relaydesk-webhook-sender")
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--allow-private", action="store_true")
    args = parser.parse_args(argv)
    sender = Sender(
        allow_private=args.allow_private,
        timeout_seconds=args.timeout,
        concurrency=args.concurrency,
    )
    # The parent ends this process by closing its input (it finishes what it holds first);
    # a Ctrl-C or SIGTERM sent to the whole process group must not cut in-flight POSTs short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    run_event_loop(_serve(sender))


if __name__ == "__main__":
    main()
