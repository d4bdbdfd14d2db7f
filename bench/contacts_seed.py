"""Seed a benchmark database with many contacts, straight into SQLite (see bench/README.md).

Used by ``bench/run.py contacts`` after ``relaydesk migrate`` and the workspace / user / token
setup, before any server starts. Rows are written with the stdlib ``sqlite3`` module,
``executemany`` inside one transaction, with the column names and value formats of the
SQLAlchemy models (src/relaydesk/models/contact.py) as they are stored on SQLite: booleans as
0/1, JSON as text, timestamps as naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``.

For the workspace of the fixture, owned by its user:

* ``count`` active contacts (name, language ``eng``, status ``active``, ``fields``
  ``{"age": "<n>"}``), created and modified one second apart (distinct and ascending), so
  keyset pages are well defined;
* one ``tel`` URN each, ``tel:+2507880xxxxx`` (priority 1000);
* three manual groups; contact ``i`` is a member of group ``i % 3`` (a third each);
* three contact fields: ``age`` (number), ``nickname`` (text), ``joined`` (datetime). Only
  ``age`` has values; the others render as null in every contact.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_COUNT = 100_000
BASE_TIME = datetime(2023, 1, 1)  # naive UTC, as SQLAlchemy stores datetimes on SQLite
GROUP_NAMES = ("Customers", "Volunteers", "Testers")
FIELDS = (
    ("age", "Age", "number"),
    ("nickname", "Nickname", "text"),
    ("joined", "Joined", "datetime"),
)
BATCH = 10_000  # rows per executemany call (keeps memory flat)


class SeedError(RuntimeError):
    pass


@dataclass(frozen=True)
class SeedSummary:
    contacts: int
    urns: int
    groups: int
    memberships: int
    fields: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 2)}


def db_time(value: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy's SQLite dialect stores it."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _one(conn: sqlite3.Connection, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise SeedError(f"not found: {sql} {params}")
    return int(row[0])


def _batches(start: int, stop: int) -> Iterator[range]:
    for low in range(start, stop, BATCH):
        yield range(low, min(low + BATCH, stop))


def seed_contacts(
    db_path: Path, workspace_uuid: str, user_email: str, count: int = DEFAULT_COUNT
) -> SeedSummary:
    """Insert the contacts, URNs, groups, memberships and fields (one transaction)."""
    if not db_path.is_file():
        raise SeedError(f"no database at {db_path}")
    if count > 100_000:
        raise SeedError("at most 100,000 contacts (tel:+2507880xxxxx has 5 free digits)")
    started = time.perf_counter()
    with contextlib.closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("BEGIN IMMEDIATE")
        try:
            workspace_id = _one(conn, "SELECT id FROM workspaces WHERE uuid = ?", workspace_uuid)
            user_id = _one(conn, "SELECT id FROM users WHERE email = ?", user_email)
            first_id = _one(conn, "SELECT coalesce(max(id), 0) + 1 FROM contacts")
            now = db_time(BASE_TIME)

            conn.executemany(
                "INSERT INTO contact_fields (key, name, value_type, featured, priority,"
                " is_active, created_on, modified_on, workspace_id)"
                " VALUES (?, ?, ?, 0, 0, 1, ?, ?, ?)",
                [(key, name, kind, now, now, workspace_id) for key, name, kind in FIELDS],
            )
            group_ids = []
            for name in GROUP_NAMES:
                cursor = conn.execute(
                    "INSERT INTO contact_groups (uuid, name, query, status, is_system, is_active,"
                    " created_on, modified_on, owner_id, workspace_id)"
                    " VALUES (?, ?, NULL, 'ready', 0, 1, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), name, now, now, user_id, workspace_id),
                )
                group_ids.append(int(cursor.lastrowid or 0))

            for batch in _batches(0, count):
                contacts = []
                urns = []
                members = []
                for i in batch:
                    contact_id = first_id + i
                    created = BASE_TIME + timedelta(seconds=i, microseconds=(i * 7919) % 999_983)
                    modified = created + timedelta(days=1)
                    contacts.append(
                        (
                            contact_id,
                            str(uuid.uuid4()),
                            f"Contact {i:06d}",
                            json.dumps({"age": str(18 + i % 60)}),
                            db_time(created),
                            db_time(modified),
                            user_id,
                            workspace_id,
                        )
                    )
                    path = f"+2507880{i:05d}"
                    urns.append((contact_id, path, f"tel:{path}", workspace_id))
                    members.append((group_ids[i % len(group_ids)], contact_id))
                conn.executemany(
                    "INSERT INTO contacts (id, uuid, name, language, status, fields, is_active,"
                    " created_on, modified_on, last_seen_on, owner_id, workspace_id)"
                    " VALUES (?, ?, ?, 'eng', 'active', ?, 1, ?, ?, NULL, ?, ?)",
                    contacts,
                )
                conn.executemany(
                    "INSERT INTO contact_urns (contact_id, scheme, path, identity, priority,"
                    " workspace_id) VALUES (?, 'tel', ?, ?, 1000, ?)",
                    urns,
                )
                conn.executemany(
                    "INSERT INTO contact_group_members (group_id, contact_id) VALUES (?, ?)",
                    members,
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SeedSummary(
        contacts=count,
        urns=count,
        groups=len(GROUP_NAMES),
        memberships=count,
        fields=len(FIELDS),
        seconds=time.perf_counter() - started,
    )
