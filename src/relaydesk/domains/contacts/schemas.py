"""Wire models of ``contacts.json`` and ``contact_actions.json`` (RapidPro's shapes).

The read model documents the output (built as plain dicts for speed). The write models
document the input; their checks are applied field by field by the service so that errors come
back the way Django REST framework (and so RapidPro) reports them, including the nested ones
(``{"urns": {"0": [...]}}``, ``{"fields": {"key": [...]}}``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ContactStatusName = Literal["active", "blocked", "stopped", "archived"]
Action = Literal[
    "add", "remove", "block", "unblock", "interrupt", "archive_messages", "delete", "archive"
]

MAX_NAME = 64
MAX_ITEMS = 100
MAX_FIELD_VALUE = 640


class ObjectRef(BaseModel):
    uuid: str = Field(description="The UUID of the object.")
    name: str = Field(description="The name of the object.")


class ExpandedURN(BaseModel):
    """A URN with its parts (``?expand_urns=true``)."""

    channel: ObjectRef | None = Field(description="The preferred channel (always null for now).")
    scheme: str = Field(description="The URN scheme, e.g. tel.")
    path: str = Field(description="The URN path, e.g. +250788123123.")
    display: str | None = Field(description="The display form, if any.")


class ContactRead(BaseModel):
    """A contact (RapidPro's ``contacts.json`` result). A deleted contact (``deleted=true``)
    has only its uuid and times: name, status, language, flow, blocked and stopped are null,
    urns, groups and notes empty, fields ``{}``."""

    uuid: str = Field(description="The UUID of the contact.")
    name: str | None = Field(description="The name of the contact.")
    status: ContactStatusName | None = Field(
        description="active, blocked, stopped or archived (null when deleted)."
    )
    language: str | None = Field(description="The preferred language (ISO 639-3), or null.")
    urns: list[str] | list[ExpandedURN] = Field(
        description="The URNs of the contact, e.g. tel:+250788123123, highest priority first "
        "(objects with ?expand_urns=true)."
    )
    groups: list[ObjectRef] = Field(description="The groups the contact is in.")
    notes: list[dict[str, Any]] = Field(description="Notes on the contact (always empty).")
    fields: dict[str, str | None] = Field(
        description="Every active contact field of the workspace, key → value (null: unset)."
    )
    flow: ObjectRef | None = Field(description="The flow the contact is in (always null).")
    created_on: str = Field(description="When the contact was created.")
    modified_on: str = Field(description="When the contact was last modified.")
    last_seen_on: str | None = Field(description="When the contact last communicated, or null.")
    blocked: bool | None = Field(description="Deprecated: whether the status is blocked.")
    stopped: bool | None = Field(description="Deprecated: whether the status is stopped.")


class ContactWrite(BaseModel):
    """POST body: create a contact, or (with ``?uuid=`` / ``?urn=``) update the fields given."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(
        default=None, max_length=MAX_NAME, description="The full name of the contact."
    )
    language: str | None = Field(
        default=None,
        min_length=3,
        max_length=3,
        description="The preferred language, an ISO 639-3 code (e.g. eng).",
    )
    urns: list[str] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description="URNs such as tel:+250788123123 or twitter:ben (up to 100). Not allowed "
        "when the contact is given by ?urn=.",
    )
    groups: list[str] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description="UUIDs or names of manual (not query based) groups (up to 100); replaces "
        "the contact's manual groups.",
    )
    fields: dict[str, str | None] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description="Contact field values by key (up to 100); an empty string or null clears.",
    )


class ContactActionWrite(BaseModel):
    """POST body of ``contact_actions.json``; the answer is 204 with no body."""

    contacts: list[str] = Field(
        max_length=MAX_ITEMS, description="UUIDs or URNs of the contacts (1 to 100)."
    )
    action: Action = Field(
        description="add, remove, block, unblock, interrupt, archive_messages (archive is its "
        "old name) or delete. interrupt and archive_messages are accepted and do nothing yet: "
        "Relaydesk has no flow runs or messages."
    )
    group: str | None = Field(
        default=None, description="UUID or name of a manual group: required for add and remove."
    )
