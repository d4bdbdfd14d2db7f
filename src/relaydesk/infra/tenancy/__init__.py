"""Workspace scoping, in one place.

Every query a service makes for workspace resources goes through :func:`scoped`:

* rows of other workspaces are never visible to anyone;
* a **company** token sees every row of its workspace;
* a **personal** token sees only rows its user owns, for models that declare an owner column
  (``__owner_column__``; :class:`relaydesk.models.OwnedMixin` gives ``owner_id``); models
  without one are workspace-wide.

:func:`can_see` applies the same rule to a row already loaded.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

from relaydesk.infra.auth.principal import Principal

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def owner_column(model: type[Any]) -> Any | None:
    """The column naming a row's owner (``__owner_column__`` on the model), if any."""
    name = getattr(model, "__owner_column__", None)
    return getattr(model, name) if name else None


def scoped(stmt: S, model: type[Any], principal: Principal) -> S:
    stmt = stmt.where(model.workspace_id == principal.workspace_id)
    column = owner_column(model)
    if column is not None and not principal.is_company:
        stmt = stmt.where(column == principal.user_id)
    return stmt


def can_see(row: Any, principal: Principal) -> bool:
    if row.workspace_id != principal.workspace_id:
        return False
    column = owner_column(type(row))
    if column is None or principal.is_company:
        return True
    return bool(getattr(row, column.key) == principal.user_id)
