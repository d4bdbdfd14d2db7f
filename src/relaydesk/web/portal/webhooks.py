"""Setup > Webhooks: endpoints, their health, their message log (docs/portal.md).

* ``GET /setup/webhooks``: the workspace's endpoints (URL, events, state, failure rate).
* ``GET /setup/webhooks/new``, ``POST /setup/webhooks``: add one. The signing secret is
  rendered in the POST's own response, once (never carried in a cookie or a redirect).
* ``GET /setup/webhooks/{uuid}``: health, edit form, rotate secret, send a test event,
  delete, and the message log (``?status=pending|delivered|failed``, ``?cursor=``) with each
  message's attempts, a Resend button per message and a "Recover failed messages" form.
* ``POST /setup/webhooks/{uuid}`` (edit), ``…/enable``, ``…/rotate-secret``, ``…/test``,
  ``…/delete``, ``…/recover``, ``…/messages/{msg_id}/resend``.

Every page goes through the webhooks service exactly as the v3 API does (reads for every
member, writes for administrators; another workspace's webhook is a 404). Every POST checks
CSRF first, commits once and answers with a 303 (post/redirect/get), except those that show a
secret or re-render a form with its errors (400, input kept).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from relaydesk.config import Settings
from relaydesk.exceptions import Forbidden, InvalidArgs, NotFound
from relaydesk.infra.http.deps import Session
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.v2params import field_errors
from relaydesk.kit.time import utcnow
from relaydesk.models import Webhook, WebhookMessage
from relaydesk.platform.webhooks import registry, service
from relaydesk.platform.webhooks.schemas import (
    MessageOut,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
)
from relaydesk.web.portal.context import (
    PortalContext,
    admin_post,
    portal_context,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

BASE = "/setup/webhooks"
LIST_PAGE_SIZE = 25
MESSAGE_PAGE_SIZE = 25
STATUSES = ("pending", "delivered", "failed")
NOT_ADMIN = "Only administrators can change webhooks."
# event groups offered as checkboxes: (prefix, label); webhook.test goes to one webhook only
GROUPS = (
    ("contact", "Contacts"),
    ("group", "Contact groups"),
    ("field", "Contact fields"),
    ("label", "Message labels"),
    ("global", "Globals"),
    ("chat", "Live chats"),
    ("ticket", "Tickets"),
)
GROUP_NOUNS = {
    "contact": "contact",
    "group": "contact group",
    "field": "contact field",
    "label": "message label",
    "global": "global",
    "chat": "live chat",
    "ticket": "ticket",
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# -- forms -----------------------------------------------------------------------------------


@dataclass
class Choice:
    value: str
    label: str
    description: str = ""


@dataclass
class Group:
    key: str
    label: str
    wildcard: Choice | None
    choices: list[Choice]


def event_groups(selected: Sequence[str] = ()) -> list[Group]:
    """The event checkboxes: per group its ``<prefix>.*`` wildcard and its types; values of
    ``selected`` that are none of these (kept on edit) in an "Other" group."""
    types = registry.all_types()
    groups: list[Group] = []
    offered = {"*"}
    for prefix, label in GROUPS:
        members = [t for t in types if t.name.split(".", 1)[0] == prefix]
        if not members:
            continue
        wildcard = None
        if registry.is_pattern(f"{prefix}.*"):
            wildcard = Choice(f"{prefix}.*", f"All {GROUP_NOUNS[prefix]} events")
            offered.add(wildcard.value)
        choices = [Choice(t.name, t.name, t.description) for t in members]
        offered.update(c.value for c in choices)
        groups.append(Group(prefix, label, wildcard, choices))
    other = [Choice(v, v) for v in selected if v not in offered]
    if other:
        groups.append(Group("other", "Other", None, other))
    return groups


@dataclass
class WebhookForm:
    """What the add/edit form shows: the values (as typed) and the messages per field."""

    url: str = ""
    description: str = ""
    events: list[str] = field(default_factory=list)
    custom_data: str = ""
    disabled: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, webhook: WebhookOut) -> WebhookForm:
        return cls(
            url=webhook.url,
            description=webhook.description,
            events=list(webhook.events),
            custom_data=json.dumps(webhook.custom_data, indent=2) if webhook.custom_data else "",
            disabled=webhook.state == "disabled",
        )

    @classmethod
    def posted(cls, pairs: list[tuple[str, str]]) -> WebhookForm:
        fields = dict(pairs)
        return cls(
            url=fields.get("url", "").strip(),
            description=fields.get("description", "").strip(),
            events=list(dict.fromkeys(v for k, v in pairs if k == "events" and v)),
            custom_data=fields.get("custom_data", ""),
            disabled=fields.get("disabled") == "1",
        )

    def values(self) -> dict[str, Any]:
        """The fields for the schemas; a message per field on ``errors`` when one is not
        valid before the schema even sees it (the custom data's JSON)."""
        data: dict[str, Any] = {
            "url": self.url,
            "description": self.description,
            "events": self.events,
        }
        if not self.events:
            self.errors.setdefault("events", []).append("Select at least one event.")
        if not self.url:
            self.errors.setdefault("url", []).append("Enter the URL events are sent to.")
        text = self.custom_data.strip()
        if text:
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                self.errors.setdefault("custom_data", []).append(f"Not valid JSON: {exc}.")
            else:
                if isinstance(parsed, dict):
                    data["custom_data"] = parsed
                else:
                    self.errors.setdefault("custom_data", []).append(
                        'Must be a JSON object, e.g. {"team": "support"}.'
                    )
        else:
            data["custom_data"] = {}
        return data

    def merge(self, errors: dict[str, Any]) -> None:
        for key, messages in errors.items():
            name = key.split(".", 1)[0]
            if name not in {"url", "description", "events", "custom_data"}:
                name = "non_field_errors"
            items = messages if isinstance(messages, list) else [messages]
            for message in items:
                if str(message) not in self.errors.get(name, []):
                    self.errors.setdefault(name, []).append(str(message))


# -- helpers ---------------------------------------------------------------------------------


def _page(
    request: Request, template: str, ctx: PortalContext, *, status: int = 200, **values: Any
) -> HTMLResponse:
    return render(
        request, template, ctx, status=status, section="setup", active="webhooks", **values
    )


def _denied(request: Request, ctx: PortalContext, message: str = NOT_ADMIN) -> HTMLResponse:
    return _page(request, "portal/webhooks_denied.html", ctx, status=403, message=message)


def _not_found(request: Request, ctx: PortalContext) -> HTMLResponse:
    return _page(
        request,
        "portal/webhooks_denied.html",
        ctx,
        status=404,
        message="No such webhook in this workspace.",
        title="Not found",
    )


def _relative(url: str | None) -> str | None:
    """A pager link (absolute, as the API gives it) as a same-site path."""
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _detail_path(uuid: str, status: str | None = None) -> str:
    query = f"?{urlencode({'status': status})}" if status in STATUSES else ""
    return f"{BASE}/{uuid}{query}#messages"


async def _rates(
    request: Request, session: Session, webhooks: Sequence[Webhook]
) -> dict[str, float]:
    settings = _settings(request)
    rates = {}
    for webhook in webhooks:
        rates[webhook.uuid] = (await service.health(session, webhook, settings)).failure_rate
    return rates


# -- list and create -------------------------------------------------------------------------


@router.get("/setup/webhooks")
async def list_page(request: Request, session: Session) -> Response:
    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx
    rates: dict[str, float] = {}

    async def rows(found: Sequence[Webhook]) -> list[WebhookOut]:
        rates.update(await _rates(request, session, found))
        return [service.to_out(w) for w in found]

    page = await keyset_page(
        session,
        service.list_stmt(ctx.principal),
        request,
        sort=Webhook.created_on,
        id_column=Webhook.id,
        render=rows,
        page_size=LIST_PAGE_SIZE,
    )
    return _page(
        request,
        "portal/webhooks.html",
        ctx,
        webhooks=page["results"],
        rates=rates,
        older=_relative(page["next"]),
        newer=_relative(page["previous"]),
    )


@router.get("/setup/webhooks/new")
async def new_page(request: Request, session: Session) -> Response:
    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx
    if not ctx.is_admin:
        return _denied(request, ctx)
    return _form_page(request, ctx, WebhookForm())


def _form_page(
    request: Request, ctx: PortalContext, data: WebhookForm, status: int = 200
) -> HTMLResponse:
    return _page(
        request,
        "portal/webhooks_new.html",
        ctx,
        status=status,
        data=data,
        groups=event_groups(data.events),
    )


@router.post("/setup/webhooks")
async def create(request: Request, session: Session) -> Response:
    checked = await admin_post(request, session, lambda ctx: _denied(request, ctx))
    if isinstance(checked, Response):
        return checked
    pairs, ctx = checked
    data = WebhookForm.posted(pairs)
    values = data.values()
    try:
        parsed = WebhookCreate.model_validate(values)
    except ValidationError as exc:
        data.merge(field_errors(exc))
        return _form_page(request, ctx, data, 400)
    if data.errors:
        return _form_page(request, ctx, data, 400)
    try:
        new = await service.create(session, ctx.principal, parsed, _settings(request))
    except InvalidArgs as exc:
        data.merge(exc.errors)
        return _form_page(request, ctx, data, 400)
    except Forbidden as exc:
        return _denied(request, ctx, exc.message)
    await session.commit()
    return _page(
        request,
        "portal/webhooks_secret.html",
        ctx,
        status=201,
        webhook=service.to_out(new.webhook),
        secret=new.secret,
        created=True,
    )


# -- one endpoint ----------------------------------------------------------------------------


async def _detail(
    request: Request,
    session: Session,
    ctx: PortalContext,
    uuid: str,
    *,
    edit: WebhookForm | None = None,
    recover_errors: dict[str, list[str]] | None = None,
    recover_values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    webhook = await service.get(session, ctx.principal, uuid)  # NotFound: the caller's 404
    settings = _settings(request)
    detail = await service.to_detail(session, webhook, settings)
    wanted = request.query_params.get("status") or None
    if wanted not in STATUSES:
        wanted = None
    found, stmt = await service.messages_stmt(session, ctx.principal, uuid, status=wanted)

    async def rows(messages: Sequence[WebhookMessage]) -> list[MessageOut]:
        return await service.render_messages(session, messages, {found.id: found.uuid})

    try:
        page = await keyset_page(
            session,
            stmt,
            request,
            sort=WebhookMessage.created_on,
            id_column=WebhookMessage.id,
            render=rows,
            page_size=MESSAGE_PAGE_SIZE,
        )
    except NotFound:  # a bad cursor: the first page
        page = {"results": [], "next": None, "previous": None}
    now = utcnow()
    form_data = edit or WebhookForm.of(detail)
    return _page(
        request,
        "portal/webhooks_detail.html",
        ctx,
        status=status,
        webhook=detail,
        health=detail.health,
        data=form_data,
        groups=event_groups(form_data.events),
        messages=page["results"],
        older=_relative(page["next"]),
        newer=_relative(page["previous"]),
        status_filter=wanted or "",
        statuses=STATUSES,
        recover_errors=recover_errors or {},
        recover=recover_values
        or {
            "since": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "until": "",
        },
    )


@router.get("/setup/webhooks/{uuid}")
async def detail_page(uuid: str, request: Request, session: Session) -> Response:
    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx
    try:
        return await _detail(request, session, ctx, uuid)
    except NotFound:
        return _not_found(request, ctx)


@router.post("/setup/webhooks/{uuid}")
async def update(uuid: str, request: Request, session: Session) -> Response:
    checked = await admin_post(request, session, lambda ctx: _denied(request, ctx))
    if isinstance(checked, Response):
        return checked
    pairs, ctx = checked
    data = WebhookForm.posted(pairs)
    values = data.values()
    try:
        current = await service.get(session, ctx.principal, uuid)
        parsed: WebhookUpdate | None = None
        try:
            parsed = WebhookUpdate.model_validate(values)
        except ValidationError as exc:
            data.merge(field_errors(exc))
        if parsed is None or data.errors:
            return await _detail(request, session, ctx, uuid, edit=data, status=400)
        was_disabled = current.state == "disabled"
        if data.disabled and not was_disabled:
            parsed.disabled = True
        elif not data.disabled and was_disabled:
            parsed.disabled = False
        try:
            await service.update(session, ctx.principal, uuid, parsed, _settings(request))
        except InvalidArgs as exc:
            data.merge(exc.errors)
            return await _detail(request, session, ctx, uuid, edit=data, status=400)
    except NotFound:
        return _not_found(request, ctx)
    await session.commit()
    return redirect(f"{BASE}/{uuid}", message="Webhook saved.", kind="success")


async def _act(
    request: Request,
    session: Session,
    action: Callable[[PortalContext, dict[str, str]], Awaitable[Response]],
) -> Response:
    """An administrator's action on one webhook: CSRF and role checks, ``action`` (another
    workspace's webhook or message → the not-found page), then one commit."""
    checked = await admin_post(request, session, lambda ctx: _denied(request, ctx))
    if isinstance(checked, Response):
        return checked
    pairs, ctx = checked
    try:
        response = await action(ctx, dict(pairs))
    except NotFound:
        return _not_found(request, ctx)
    await session.commit()
    return response


@router.post("/setup/webhooks/{uuid}/enable")
async def enable(uuid: str, request: Request, session: Session) -> Response:
    async def action(ctx: PortalContext, fields: dict[str, str]) -> Response:
        update = WebhookUpdate(disabled=False)
        await service.update(session, ctx.principal, uuid, update, _settings(request))
        message = "Webhook re-enabled: queued messages go out now."
        return redirect(f"{BASE}/{uuid}", message=message, kind="success")

    return await _act(request, session, action)


@router.post("/setup/webhooks/{uuid}/rotate-secret")
async def rotate_secret(uuid: str, request: Request, session: Session) -> Response:
    async def action(ctx: PortalContext, fields: dict[str, str]) -> Response:
        settings = _settings(request)
        new = await service.rotate_secret(session, ctx.principal, uuid, settings)
        return _page(
            request,
            "portal/webhooks_secret.html",
            ctx,
            webhook=service.to_out(new.webhook),
            secret=new.secret,
            created=False,
            overlap_hours=round(settings.webhook_secret_overlap_seconds / 3600, 1),
        )

    return await _act(request, session, action)


@router.post("/setup/webhooks/{uuid}/test")
async def send_test(uuid: str, request: Request, session: Session) -> Response:
    async def action(ctx: PortalContext, fields: dict[str, str]) -> Response:
        queued = await service.send_test(session, ctx.principal, uuid)
        message = f"Test event queued as message {queued.id}."
        return redirect(_detail_path(uuid), message=message, kind="success")

    return await _act(request, session, action)


@router.post("/setup/webhooks/{uuid}/delete")
async def delete(uuid: str, request: Request, session: Session) -> Response:
    async def action(ctx: PortalContext, fields: dict[str, str]) -> Response:
        webhook = await service.delete(session, ctx.principal, uuid)
        return redirect(BASE, message=f"Webhook {webhook.url} deleted.", kind="success")

    return await _act(request, session, action)


@router.post("/setup/webhooks/{uuid}/messages/{message_id}/resend")
async def resend(uuid: str, message_id: str, request: Request, session: Session) -> Response:
    async def action(ctx: PortalContext, fields: dict[str, str]) -> Response:
        message = await service.get_message(session, ctx.principal, message_id)
        if message.webhook != (await service.get(session, ctx.principal, uuid)).uuid:
            raise NotFound("No message with this id.")
        await service.resend(session, ctx.principal, message_id)
        return redirect(
            _detail_path(uuid, fields.get("status")),
            message=f"Message {message_id} queued to be sent again.",
            kind="success",
        )

    return await _act(request, session, action)


def _local_time(value: str, name: str, errors: dict[str, list[str]]) -> str | None:
    """A ``datetime-local`` value (UTC) as ISO 8601 for the service; None when blank."""
    text = value.strip()
    if not text:
        return None
    try:
        service.parse_time(text, name)
    except InvalidArgs as exc:
        errors.setdefault(name, []).append(exc.message)
        return None
    return text


@router.post("/setup/webhooks/{uuid}/recover")
async def recover(uuid: str, request: Request, session: Session) -> Response:
    checked = await admin_post(request, session, lambda ctx: _denied(request, ctx))
    if isinstance(checked, Response):
        return checked
    pairs, ctx = checked
    fields = dict(pairs)
    typed = {"since": fields.get("since", ""), "until": fields.get("until", "")}
    errors: dict[str, list[str]] = {}
    since = _local_time(typed["since"], "since", errors)
    until = _local_time(typed["until"], "until", errors)
    if since is None and "since" not in errors:
        errors["since"] = ["Enter the date and time to start from."]
    count = 0
    try:
        if not errors and since is not None:
            try:
                count = await service.recover(session, ctx.principal, uuid, since, until)
            except InvalidArgs as exc:
                for key, messages in exc.errors.items():
                    errors.setdefault(key, []).extend(messages)
        if errors:
            return await _detail(
                request,
                session,
                ctx,
                uuid,
                recover_errors=errors,
                recover_values=typed,
                status=400,
            )
    except NotFound:
        return _not_found(request, ctx)
    await session.commit()
    noun = "message" if count == 1 else "messages"
    return redirect(
        _detail_path(uuid),
        message=f"{count} failed {noun} queued to be sent again.",
        kind="success",
    )
