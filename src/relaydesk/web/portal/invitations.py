"""``/invitations/{token}``: the accept link of a property invitation (docs/helpdesk.md).

* ``GET``: after signing in (a login redirect otherwise), says which property and role the
  invitation is for and offers an **Accept invitation** button; an unknown, revoked, used or
  expired link says so (404 / 409).
* ``POST``: CSRF check, then ``properties.service.accept_invitation`` as the signed-in user
  (whose email must be the invited one: 403 otherwise), one commit, 303 to the portal.

The page does not use the portal layout: the invited user may belong to no workspace yet.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from relaydesk.domains.properties import service as properties
from relaydesk.exceptions import RelaydeskError
from relaydesk.infra.http.deps import Session
from relaydesk.infra.http.docs import templates
from relaydesk.kit.time import utcnow
from relaydesk.models import User
from relaydesk.web import csrf
from relaydesk.web import session as web_session
from relaydesk.web.portal.context import PAGE_HEADERS, posted_pairs, redirect

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    user: User,
    *,
    status: int = 200,
    error: str = "",
    property_name: str = "",
    role: str = "",
    email: str = "",
) -> HTMLResponse:
    html = templates.get_template("invitation.html").render(
        csrf_token=csrf.csrf_token(request),
        user=user,
        error=error,
        property_name=property_name,
        role=role,
        email=email,
        action=request.url.path,
    )
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    csrf.attach(response, request)
    return response


@router.get("/invitations/{token}")
async def invitation_page(token: str, request: Request, session: Session) -> Response:
    user = await web_session.current_user(request, session)
    if user is None:
        return web_session.login_redirect(request)
    found = await properties.invitation_preview(session, token)
    if found is None:
        message = "This invitation link is not valid (it may have been revoked)."
        return _page(request, user, status=404, error=message)
    invitation, prop = found
    if invitation.accepted_on is not None:
        return _page(request, user, status=409, error="This invitation has already been used.")
    if invitation.expires_on <= utcnow():
        message = "This invitation has expired: ask for a new one."
        return _page(request, user, status=409, error=message)
    return _page(
        request,
        user,
        property_name=prop.name,
        role=invitation.role,
        email=invitation.email,
    )


@router.post("/invitations/{token}")
async def accept(token: str, request: Request, session: Session) -> Response:
    pairs = await posted_pairs(request)
    if isinstance(pairs, Response):
        return pairs
    user = await web_session.current_user(request, session)
    if user is None:
        return web_session.login_redirect(request)
    try:
        member = await properties.accept_invitation(session, token, user)
        prop = await properties.property_of(session, member)
    except RelaydeskError as exc:
        return _page(request, user, status=exc.status, error=exc.message)
    name = prop.name
    await session.commit()
    return redirect("/setup/api", message=f"You joined {name}.", kind="success")
