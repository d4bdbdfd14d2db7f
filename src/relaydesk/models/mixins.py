"""Columns shared by resource models.

``WorkspaceScopedMixin``: every resource belongs to exactly one workspace.
``OwnedMixin``: resources where personal-token scope applies also have an owner (a user);
a personal token sees only rows it owns, a company token sees the whole workspace. The filter
is applied in one place: :func:`relaydesk.infra.tenancy.scoped`.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class WorkspaceScopedMixin:
    @declared_attr
    def workspace_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


class OwnedMixin(WorkspaceScopedMixin):
    __owner_column__ = "owner_id"

    @declared_attr
    def owner_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
