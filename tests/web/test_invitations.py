"""``/invitations/{token}``: the accept link of a property invitation email, in the portal.
The invitation goes through a real SMTP server on loopback; both databases."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.passwords import hash_password
from relaydesk.models import Membership, PropertyMember, User
from tests.conftest import World
from tests.rpc.test_property_members import Inbox, inbox, invite, new_property
from tests.web.test_portal_api import PASSWORD, csrf_token, log_in

_ = inbox  # the fixture, used by name


async def test_accept_link_signs_in_then_joins_once(
    client: httpx.AsyncClient, session: AsyncSession, world: World, inbox: Inbox
) -> None:
    prop = await new_property(client, world.a, name="Help Center")
    await invite(client, world.a, prop, email="grace@example.com", role="agent")
    token = inbox.token_for("grace@example.com")
    link = f"/invitations/{token}"
    grace = User(email="grace@example.com", password_hash=hash_password(PASSWORD))
    session.add(grace)
    await session.commit()
    await session.refresh(grace)
    grace_id = grace.id

    # signed out: to the login form, which comes back here
    signed_out = await client.get(link)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=%2Finvitations%2Frdi_")

    await log_in(client, "grace@example.com")
    page = await client.get(link)
    assert page.status_code == 200
    assert "Help Center" in page.text
    assert "Accept invitation" in page.text
    assert token not in page.text.replace(link, "")  # only in the form's own address

    # without the CSRF token: refused, nothing joined
    refused = await client.post(link, data={})
    assert refused.status_code == 403
    assert await _memberships(session, grace_id) == []

    accepted = await client.post(link, data={"csrf_token": await csrf_token(client, link)})
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/setup/api"
    assert await _memberships(session, grace_id) == [(world.a.id, "agent")]
    members = (
        await session.execute(select(PropertyMember).where(PropertyMember.user_id == grace_id))
    ).scalars()
    assert [m.role for m in members] == ["agent"]
    portal = await client.get("/setup/api")
    assert portal.status_code == 200
    assert "You joined Help Center." in portal.text

    again = await client.get(link)
    assert again.status_code == 409
    assert "already been used" in again.text


async def test_unknown_link_and_another_users_invitation(
    client: httpx.AsyncClient, session: AsyncSession, world: World, inbox: Inbox
) -> None:
    prop = await new_property(client, world.a)
    await invite(client, world.a, prop, email="someone@example.com")
    token = inbox.token_for("someone@example.com")
    await session.execute(
        User.__table__.update()
        .where(User.email == world.a.editor.email)
        .values(password_hash=hash_password(PASSWORD))
    )
    await session.commit()
    await log_in(client, world.a.editor.email)

    unknown = await client.get("/invitations/rdi_nothing_like_this")
    assert unknown.status_code == 404
    assert "not valid" in unknown.text

    link = f"/invitations/{token}"
    wrong_user = await client.post(link, data={"csrf_token": await csrf_token(client, link)})
    assert wrong_user.status_code == 403
    assert "another email address" in wrong_user.text


async def _memberships(session: AsyncSession, user_id: int) -> list[tuple[int, str]]:
    session.expire_all()
    rows = await session.execute(
        select(Membership.workspace_id, Membership.role).where(Membership.user_id == user_id)
    )
    return [(r[0], r[1]) for r in rows.all()]
