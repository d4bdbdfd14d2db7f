"""property.member.list / invite / remove / accept and accept_invitation: the invitation
email really goes through SMTP (an aiosmtpd server on loopback), its link adds the member
once, the token is stored only hashed."""

from __future__ import annotations

import dataclasses
import email
import hashlib
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.config import Settings
from relaydesk.domains.properties import service
from relaydesk.exceptions import Conflict, Forbidden, NotFound
from relaydesk.infra.auth import scopes
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.time import utcnow
from relaydesk.models import Membership, PropertyInvitation, User
from tests.conftest import Tenant, World
from tests.rpc.conftest import failed, ok, rpc

LINK = re.compile(r"http://testserver/invitations/(rdi_[A-Za-z0-9_-]+)")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(raw)))
        return "250 Message accepted for delivery"

    def token_for(self, address: str) -> str:
        for rcpt, message in reversed(self.messages):
            if address in rcpt:
                payload = message.get_payload(decode=True)
                assert isinstance(payload, bytes)
                found = LINK.search(payload.decode())
                assert found, payload
                return found.group(1)
        raise AssertionError(f"no email to {address}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def inbox(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A local SMTP server the app sends to (RELAYDESK_SMTP_* pointed at it)."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setattr(settings, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(settings, "smtp_port", controller.port)
    monkeypatch.setattr(settings, "smtp_starttls", False)
    monkeypatch.setattr(settings, "smtp_from", "Relaydesk <noreply@relaydesk.test>")
    try:
        yield handler
    finally:
        controller.stop()


async def new_property(client: httpx.AsyncClient, tenant: Tenant, **args: Any) -> dict[str, Any]:
    args = {"name": "Acme Store", "departments": ["Sales", "Support"], **args}
    body = ok(await rpc(client, "property.create", tenant.admin.personal_v3, **args))
    prop: dict[str, Any] = body["property"]
    return prop


async def invite(
    client: httpx.AsyncClient, tenant: Tenant, prop: dict[str, Any], **args: Any
) -> dict[str, Any]:
    body = ok(
        await rpc(
            client,
            "property.member.invite",
            tenant.admin.personal_v3,
            property=prop["uuid"],
            **args,
        )
    )
    invitation: dict[str, Any] = body["invitation"]
    return invitation


async def user(session: AsyncSession, address: str) -> User:
    found = (await session.execute(select(User).where(User.email == address))).scalar_one()
    return found


async def test_invite_sends_email_and_accept_adds_member_once(
    client: httpx.AsyncClient, session: AsyncSession, world: World, inbox: Inbox
) -> None:
    prop = await new_property(client, world.a)
    newcomer = "Grace@Example.com"
    invitation = await invite(
        client, world.a, prop, email=newcomer, role="admin", departments=["support"]
    )
    assert invitation["email"] == "grace@example.com"
    assert invitation["role"] == "admin"
    assert invitation["departments"] == ["Support"]
    assert invitation["invited_by"] == world.a.admin.email
    assert invitation["accepted_on"] is None
    assert "token" not in invitation
    assert all("rdi_" not in str(value) for value in invitation.values())

    # the email arrived through SMTP with the accept link
    assert len(inbox.messages) == 1
    rcpt, message = inbox.messages[0]
    assert rcpt == ["grace@example.com"]
    assert message["From"] == "Relaydesk <noreply@relaydesk.test>"
    assert "Acme Store" in message["Subject"]
    token = inbox.token_for("grace@example.com")

    # stored hashed only: the plaintext token is nowhere in the table
    row = (await session.execute(select(PropertyInvitation))).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    raw = (await session.execute(text("SELECT * FROM property_invitations"))).all()
    assert token not in repr(raw)

    listed = ok(
        await rpc(client, "property.member.list", world.a.viewer.personal_v3, property=prop["uuid"])
    )
    assert set(listed) == {"ok", "members", "invitations"}
    assert [m["email"] for m in listed["members"]] == [world.a.admin.email]
    assert listed["members"][0]["role"] == "owner"
    assert listed["invitations"] == [invitation]

    # accept (a user who is not yet in the workspace: they become an agent of it)
    grace = User(email="grace@example.com")
    session.add(grace)
    await session.commit()
    member = await service.accept_invitation(session, token, grace)
    await session.commit()
    assert member.role == "admin"
    membership = (
        await session.execute(select(Membership).where(Membership.user_id == grace.id))
    ).scalar_one()
    assert (membership.workspace_id, membership.role) == (world.a.id, "agent")

    with pytest.raises(Conflict, match="already been used"):
        await service.accept_invitation(session, token, grace)
    await session.rollback()

    listed = ok(
        await rpc(client, "property.member.list", world.a.admin.personal_v3, property=prop["uuid"])
    )
    assert listed["invitations"] == []
    members = {m["email"]: m for m in listed["members"]}
    assert set(members) == {world.a.admin.email, "grace@example.com"}
    assert members["grace@example.com"]["role"] == "admin"
    assert members["grace@example.com"]["departments"] == ["Support"]
    got = ok(await rpc(client, "property.get", world.a.admin.personal_v3, uuid=prop["uuid"]))
    assert got["property"]["member_count"] == 2

    # inviting a member again is a conflict
    failed(
        await rpc(
            client,
            "property.member.invite",
            world.a.admin.personal_v3,
            property=prop["uuid"],
            email="grace@example.com",
        ),
        409,
        "conflict",
    )


async def test_expired_unknown_and_wrong_user(
    client: httpx.AsyncClient, session: AsyncSession, world: World, inbox: Inbox
) -> None:
    prop = await new_property(client, world.a)
    await invite(client, world.a, prop, email=world.a.viewer.email)
    token = inbox.token_for(world.a.viewer.email)
    viewer = await user(session, world.a.viewer.email)
    editor = await user(session, world.a.editor.email)

    with pytest.raises(NotFound):
        await service.accept_invitation(session, "rdi_nope", viewer)
    with pytest.raises(Forbidden):
        await service.accept_invitation(session, token, editor)
    await session.rollback()

    await session.execute(
        update(PropertyInvitation).values(expires_on=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    with pytest.raises(Conflict, match="expired"):
        await service.accept_invitation(session, token, viewer)
    await session.rollback()


async def test_accept_through_rpc(
    client: httpx.AsyncClient, session: AsyncSession, world: World, inbox: Inbox
) -> None:
    prop = await new_property(client, world.a)
    await invite(client, world.a, prop, email=world.a.viewer.email)
    token = inbox.token_for(world.a.viewer.email)
    viewer_key = world.a.viewer.personal_v3
    failed(
        await rpc(client, "property.member.accept", world.a.editor.personal_v3, token=token),
        403,
        "forbidden",
    )
    body = ok(await rpc(client, "property.member.accept", viewer_key, token=token))
    assert body == {"ok": True, "property": prop["uuid"], "role": "agent"}
    failed(await rpc(client, "property.member.accept", viewer_key, token=token), 409, "conflict")
    failed(await rpc(client, "property.member.accept", token=token), 401, "not_authed")


async def test_reinvite_replaces_and_remove_revokes(
    client: httpx.AsyncClient, world: World, inbox: Inbox
) -> None:
    prop = await new_property(client, world.a)
    first = await invite(client, world.a, prop, email="sam@example.com")
    second = await invite(client, world.a, prop, email="sam@example.com", role="owner")
    assert first["uuid"] != second["uuid"]
    assert len(inbox.messages) == 2
    key = world.a.admin.personal_v3
    listed = ok(await rpc(client, "property.member.list", key, property=prop["uuid"]))
    assert [i["uuid"] for i in listed["invitations"]] == [second["uuid"]]

    args = {"property": prop["uuid"], "email": "SAM@example.com"}
    assert ok(await rpc(client, "property.member.remove", key, **args)) == {"ok": True}
    listed = ok(await rpc(client, "property.member.list", key, property=prop["uuid"]))
    assert listed["invitations"] == []
    failed(await rpc(client, "property.member.remove", key, **args), 404, "not_found")


async def test_remove_member_and_last_owner(
    client: httpx.AsyncClient, session: AsyncSession, world: World, inbox: Inbox
) -> None:
    prop = await new_property(client, world.a)
    await invite(client, world.a, prop, email=world.a.editor.email, role="agent")
    editor = await user(session, world.a.editor.email)
    await service.accept_invitation(session, inbox.token_for(world.a.editor.email), editor)
    await session.commit()

    key = world.a.admin.personal_v3
    body = failed(
        await rpc(
            client, "property.member.remove", key, property=prop["uuid"], email=world.a.admin.email
        ),
        409,
        "conflict",
    )
    assert "last owner" in body["message"]
    ok(
        await rpc(
            client, "property.member.remove", key, property=prop["uuid"], email=world.a.editor.email
        )
    )
    listed = ok(await rpc(client, "property.member.list", key, property=prop["uuid"]))
    assert [m["email"] for m in listed["members"]] == [world.a.admin.email]


async def test_invalid_args(client: httpx.AsyncClient, world: World, inbox: Inbox) -> None:
    prop = await new_property(client, world.a)
    key = world.a.admin.personal_v3
    cases: list[tuple[dict[str, Any], str]] = [
        ({"property": prop["uuid"]}, "email"),
        ({"property": prop["uuid"], "email": "not-an-email"}, "email"),
        ({"property": prop["uuid"], "email": "a@example.com", "role": "boss"}, "role"),
        (
            {"property": prop["uuid"], "email": "a@example.com", "departments": ["Legal"]},
            "departments",
        ),
        ({"email": "a@example.com"}, "property"),
    ]
    for args, field in cases:
        body = failed(await rpc(client, "property.member.invite", key, **args), 400, "invalid_args")
        assert field in body["args"], (args, body)
    body = failed(
        await rpc(client, "property.member.remove", key, property=prop["uuid"], email="x"),
        400,
        "invalid_args",
    )
    assert "email" in body["args"]
    assert inbox.messages == []


async def test_permissions_isolation_and_unconfigured_email(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    prop = await new_property(client, world.a)
    theirs = await new_property(client, world.b)
    args = {"property": prop["uuid"], "email": "x@example.com"}
    failed(await rpc(client, "property.member.invite", **args), 401, "not_authed")
    failed(await rpc(client, "property.member.list", property=prop["uuid"]), 401, "not_authed")
    failed(
        await rpc(client, "property.member.invite", world.a.viewer.personal_v3, **args),
        403,
        "forbidden",
    )
    failed(
        await rpc(client, "property.member.remove", world.a.viewer.personal_v3, **args),
        403,
        "forbidden",
    )
    key = world.a.admin.personal_v3
    for uuid in (theirs["uuid"], "00000000-0000-4000-8000-000000000000"):
        other = {"property": uuid, "email": "x@example.com"}
        failed(await rpc(client, "property.member.invite", key, **other), 404, "not_found")
        failed(await rpc(client, "property.member.remove", key, **other), 404, "not_found")
        failed(await rpc(client, "property.member.list", key, property=uuid), 404, "not_found")

    # no SMTP server configured: refused, and no invitation is left behind
    assert settings.smtp_host == ""
    body = failed(
        await rpc(client, "property.member.invite", key, **args), 503, "email_unavailable"
    )
    assert "RELAYDESK_SMTP_HOST" in body["message"]
    listed = ok(await rpc(client, "property.member.list", key, property=prop["uuid"]))
    assert listed["invitations"] == []


async def test_oauth_token_cannot_accept(
    app: RelaydeskApp,
    client: httpx.AsyncClient,
    world: World,
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prop = await new_property(client, world.a)
    await invite(client, world.a, prop, email=world.a.viewer.email)
    token = inbox.token_for(world.a.viewer.email)
    authenticator = app.state.authenticator
    original = authenticator.authenticate_header

    async def as_oauth(header: str | None) -> Principal:
        principal: Principal = await original(header)
        return dataclasses.replace(principal, credential="oauth", granted=frozenset(scopes.ALL))

    monkeypatch.setattr(authenticator, "authenticate_header", as_oauth)
    key = world.a.viewer.personal_v3
    failed(await rpc(client, "property.member.accept", key, token=token), 403, "forbidden")
    monkeypatch.setattr(authenticator, "authenticate_header", original)  # an API key again
    ok(await rpc(client, "property.member.accept", key, token=token))
