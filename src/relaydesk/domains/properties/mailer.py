"""Outgoing email through the configured SMTP server (``RELAYDESK_SMTP_*``): the stdlib's
``smtplib`` in a worker thread, so the event loop never waits on the network."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage

from relaydesk.config import Settings
from relaydesk.exceptions import RelaydeskError

log = logging.getLogger("relaydesk.email")

TIMEOUT_SECONDS = 15


class EmailUnavailable(RelaydeskError):
    """No SMTP server is configured, or it refused or failed the message."""

    code = "email_unavailable"
    status = 503


def build(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


async def send(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send a plain-text email; :class:`EmailUnavailable` when it can't be."""
    if not settings.smtp_host:
        raise EmailUnavailable("Email is not configured on this server (RELAYDESK_SMTP_HOST).")
    message = build(settings, to, subject, body)
    try:
        await asyncio.to_thread(_send, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("email not sent", extra={"error": repr(exc)[:300]})
        raise EmailUnavailable("The email could not be sent; try again later.") from None
