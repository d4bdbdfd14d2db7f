"""Event types. Adding one is one line: ``register("ticket.created", "...", "ticket")``.

``object_type`` names the kind of object an event's ``data`` is (its ``custom_data`` is looked
up by ``data["uuid"]``); ``nested`` names objects embedded under a key of ``data`` (e.g.
``("contact", "contact")`` for a chat event carrying its contact), which get theirs too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    description: str
    object_type: str | None = None
    nested: tuple[tuple[str, str], ...] = ()


_REGISTRY: dict[str, EventType] = {}


def register(
    name: str,
    description: str,
    object_type: str | None = None,
    nested: tuple[tuple[str, str], ...] = (),
) -> EventType:
    kind = EventType(name, description, object_type, nested)
    _REGISTRY[name] = kind
    return kind


def get(name: str) -> EventType | None:
    return _REGISTRY.get(name)


def all_types() -> list[EventType]:
    return sorted(_REGISTRY.values(), key=lambda t: t.name)


def is_pattern(value: str) -> bool:
    """An event filter: a registered type, ``<prefix>.*`` of a registered type, or ``*``."""
    if value == "*" or value in _REGISTRY:
        return True
    if value.endswith(".*"):
        prefix = value[:-1]
        return any(name.startswith(prefix) for name in _REGISTRY)
    return False


def matches(patterns: list[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


for _kind, _label in (
    ("contact", "contact"),
    ("group", "contact group"),
    ("field", "contact field"),
    ("label", "message label"),
    ("global", "global"),
):
    _object = None if _kind in ("field", "global") else _kind  # keyed by key, not uuid
    register(f"{_kind}.created", f"A {_label} was created.", _object)
    register(f"{_kind}.updated", f"A {_label} was changed.", _object)
    register(f"{_kind}.deleted", f"A {_label} was deleted.", _object)

register("chat.started", "A live chat started.", "chat", (("contact", "contact"),))
register("chat.ended", "A live chat ended.", "chat", (("contact", "contact"),))
register("ticket.created", "A ticket was opened.", "ticket", (("contact", "contact"),))
register("webhook.test", "Sent by POST /api/v3/webhooks/{uuid}/test, to that webhook only.")
