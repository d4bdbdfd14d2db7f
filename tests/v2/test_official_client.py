"""Acceptance: the official RapidPro client (``rapidpro-python`` 2.21, module ``temba_client``,
unmodified) against live ``relaydesk serve`` processes, on SQLite and on PostgreSQL, for every
v2 endpoint Relaydesk has: contacts, contact_actions (the client's ``bulk_*``), groups, fields,
labels, globals, users and workspace (the client's ``get_org``).

Per backend, one database and two servers on it for the whole module:

* ``open``: ``RELAYDESK_RATE_LIMITS=off``, so the fixture can create 501 contacts (three pages of
  250) through ``create_contact`` as fast as the server answers;
* ``limited``: rate limits on, every plan cut to ``LIMIT`` requests a minute
  (``RELAYDESK_PLAN_LIMITS``), for ``TembaRateExceededError`` and the client's retry.

What the client does, from its source (``temba_client/base.py``): 400 raises
``TembaBadRequestError(response.json())`` (``.errors``; ``str()`` joins the messages), 403
``TembaTokenError`` whatever the reason, 404 ``TembaNoSuchObjectError``, 429
``TembaRateExceededError(int(Retry-After))``; ``iterfetches()`` follows ``next`` until it is
null or a page is empty, and with ``retry_on_rate_exceed=True`` sleeps ``retry_after`` seconds
(``time.sleep``) and asks again, at most 5 times in all.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import temba_client.base
from temba_client.exceptions import (
    TembaBadRequestError,
    TembaNoSuchObjectError,
    TembaRateExceededError,
    TembaTokenError,
)
from temba_client.serialization import (
    DatetimeField,
    ObjectField,
    SimpleField,
    TembaObject,
)
from temba_client.v2 import TembaClient
from temba_client.v2.types import Contact, Field, Global, Group, Label, ObjectRef, Org

from tests.test_e2e_serve import cli, cli_json, fresh_database, provision, server

PAGE = 250
PAGED = 2 * PAGE + 1  # contacts in the paging workspace: pages of 250, 250 and 1
LIMIT = 5  # requests a minute per workspace on the limited server
LIMITED_PLANS = json.dumps(
    {plan: {"minute": LIMIT, "day": 100_000} for plan in ("standard", "pro", "enterprise")}
)
MISSING = "ad6acad9-959b-4d70-b144-5de2891e4d00"


class User(TembaObject):
    """A ``users.json`` row. rapidpro-python 2.21 has no ``get_users``, so ``users`` below
    goes through the client's own query machinery (``_get_query`` → ``CursorQuery``), exactly
    as each of its ``get_*`` methods does."""

    uuid = SimpleField()
    name = SimpleField()
    email = SimpleField()
    first_name = SimpleField()
    last_name = SimpleField()
    role = SimpleField()
    team = ObjectField(item_class=ObjectRef)
    created_on = DatetimeField()
    avatar = SimpleField()


def users(client: TembaClient, **filters: Any) -> Any:
    return client._get_query("users", client._build_params(**filters), User)


@dataclass
class Live:
    env: dict[str, str]
    open: str  # base URL of the server without rate limits
    limited: str  # base URL of the server with LIMIT requests a minute
    demo: str  # the demo workspace's company token (from the banner)
    workspace: str  # uuid of "Official Client"
    token: str  # its administrator's company token
    viewer: str  # a viewer's personal token in it
    paging: str  # uuid of the workspace holding PAGED contacts and nothing else
    paging_token: str
    paged: list[Contact] = field(default_factory=list)  # in creation order
    evens: Group | None = None  # every other paged contact: 251

    def client(self, token: str | None = None) -> TembaClient:
        return TembaClient(self.open, self.token if token is None else token)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    tmp_path = tmp_path_factory.mktemp(f"official_{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(fresh_database(str(request.param), tmp_path))
        env = {**env, "RELAYDESK_LOG_LEVEL": "warning"}
        # the first server on the empty database makes the demo workspace; start them in turn
        open_base, out, _ = stack.enter_context(
            server({**env, "RELAYDESK_RATE_LIMITS": "off"}, tmp_path / "open")
        )
        demo = re.search(r"company token\s*:\s*(rd_\w+)", out.read_text())
        assert demo, out.read_text()
        limited, _, _ = stack.enter_context(
            server({**env, "RELAYDESK_PLAN_LIMITS": LIMITED_PLANS}, tmp_path / "limited")
        )
        workspace, token = provision(
            env,
            "Official Client",
            "--country",
            "RW",
            "--language",
            "eng",
            "--language",
            "fra",
            "--timezone",
            "Africa/Kigali",
        )
        viewer_email = "viewer@official.example"
        cli_json(env, "user", "create", viewer_email, "--workspace", workspace, "--role", "viewer")
        viewer = cli_json(env, "token", "create", "--workspace", workspace, "--user", viewer_email)
        assert isinstance(viewer, dict)
        paging, paging_token = provision(env, "Paging", "--country", "RW")
        live = Live(
            env=env,
            open=open_base,
            limited=limited,
            demo=demo.group(1),
            workspace=workspace,
            token=token,
            viewer=viewer["token"],
            paging=paging,
            paging_token=paging_token,
        )

        pager = live.client(paging_token)
        live.evens = pager.create_group("Evens")
        for i in range(PAGED):
            live.paged.append(
                pager.create_contact(
                    name=f"Page {i:03d}",
                    urns=[f"tel:+250788{100_000 + i}"],
                    groups=[live.evens] if i % 2 == 0 else [],
                )
            )
        yield live


# -- workspace (org) and users ------------------------------------------------------------------


def test_get_org(live: Live) -> None:
    org = live.client().get_org()
    assert isinstance(org, Org)
    assert (org.uuid, org.name, org.country) == (live.workspace, "Official Client", "RW")
    assert (org.languages, org.primary_language) == (["eng", "fra"], "eng")
    assert org.timezone == "Africa/Kigali"
    assert org.date_style in {"day_first", "month_first", "year_first"}
    assert org.anon is False
    # any token of the workspace, the viewer's personal one too
    assert live.client(live.viewer).get_org().uuid == live.workspace
    assert live.client(live.paging_token).get_org().uuid == live.paging


def test_users(live: Live) -> None:
    client = live.client()
    everyone = users(client).all()
    assert [(u.email, u.role) for u in everyone] == [
        ("viewer@official.example", "viewer"),  # newest first
        ("admin@official-client.example", "administrator"),
    ]
    assert all(isinstance(u.created_on, datetime) and u.team is None for u in everyone)
    viewer, admin = everyone
    assert [u.uuid for u in users(client, role="viewer").all()] == [viewer.uuid]
    assert [u.uuid for u in users(client, email="ADMIN@official-client.example").all()] == [
        admin.uuid
    ]
    assert [u.email for u in users(client, uuid=admin.uuid).all()] == [admin.email]
    assert users(live.client(live.viewer)).first().uuid == viewer.uuid  # any token reads
    assert users(live.client(live.paging_token)).all()[0].email == "admin@paging.example"

    with pytest.raises(TembaBadRequestError) as error:
        users(client, uuid="nope").all()
    assert error.value.errors == {"detail": "Param 'uuid': nope is not a valid UUID."}
    assert str(error.value) == "Param 'uuid': nope is not a valid UUID."


# -- the catalog: fields, groups, labels, globals -----------------------------------------------


def test_fields(live: Live) -> None:
    client = live.client()
    created = client.create_field("Nick Name", "text")
    assert isinstance(created, Field)
    assert (created.key, created.name, created.type) == ("nick_name", "Nick Name", "text")
    age = client.create_field("Age", "number")

    keys = [f.key for f in client.get_fields().all()]
    assert keys.index("age") < keys.index("nick_name")  # newest first
    assert [(f.key, f.type) for f in client.get_fields(key="age").all()] == [("age", "number")]
    assert client.get_fields(key="nope").all() == []

    updated = client.update_field(age, "Years", "number")  # an object works as the key
    assert (updated.key, updated.name, updated.type) == ("age", "Years", "number")
    updated = client.update_field("age", "Age", "datetime")
    assert (updated.key, updated.name, updated.type) == ("age", "Age", "datetime")
    assert client.get_fields(key="age").first().type == "datetime"
    assert live.client(live.viewer).get_fields(key="age").first().name == "Age"

    with pytest.raises(TembaBadRequestError) as error:
        client.create_field("nick name", "text")
    assert error.value.errors == {"name": ["This field must be unique."]}
    assert str(error.value) == "This field must be unique."
    with pytest.raises(TembaBadRequestError) as error:
        client.create_field("Has", "video")
    assert error.value.errors == {
        "name": ['Generated key "has" is invalid or a reserved name.'],
        "type": ['"video" is not a valid choice.'],
    }
    with pytest.raises(TembaNoSuchObjectError):
        client.update_field("nope", "Nope", "text")
    with pytest.raises(TembaTokenError):  # a viewer can't write: 403
        live.client(live.viewer).create_field("Mood", "text")


def test_groups(live: Live) -> None:
    client = live.client()
    reporters = client.create_group("Reporters")
    assert isinstance(reporters, Group)
    assert (reporters.name, reporters.query, reporters.status) == ("Reporters", None, "ready")
    assert (reporters.system, reporters.count) == (False, 0)
    older = client.create_group("Older")
    client.create_contact(name="In Group", urns=["tel:+250788000001"], groups=[reporters])

    names = [g.name for g in client.get_groups().all()]
    assert names.index("Older") < names.index("Reporters")  # newest first
    [found] = client.get_groups(uuid=reporters.uuid).all()
    assert (found.uuid, found.name, found.count) == (reporters.uuid, "Reporters", 1)
    assert [g.uuid for g in client.get_groups(name="REPORTERS").all()] == [reporters.uuid]

    renamed = client.update_group(reporters, "Journalists")
    assert (renamed.uuid, renamed.name, renamed.count) == (reporters.uuid, "Journalists", 1)
    assert client.get_groups(name="Reporters").all() == []

    with pytest.raises(TembaBadRequestError) as error:
        client.create_group("journalists")
    assert error.value.errors == {"name": ["This field must be unique."]}
    with pytest.raises(TembaBadRequestError) as error:
        client.update_group(older, 'Say "hi"')
    assert error.value.errors == {"name": ['Cannot contain the character: "']}
    with pytest.raises(TembaBadRequestError) as error:
        client.get_groups(uuid=reporters.uuid, name="Journalists").all()
    assert str(error.value) == "You may only specify one of the uuid, name parameters"
    with pytest.raises(TembaTokenError):
        live.client(live.viewer).create_group("Viewers")

    client.delete_group(reporters)
    assert client.get_groups(uuid=reporters.uuid).all() == []
    with pytest.raises(TembaNoSuchObjectError):
        client.delete_group(reporters.uuid)
    with pytest.raises(TembaNoSuchObjectError):
        client.update_group(reporters, "Back")
    assert client.create_group("Reporters").uuid != reporters.uuid  # the name is free again


def test_labels(live: Live) -> None:
    client = live.client()
    important = client.create_label("Important")
    assert isinstance(important, Label)
    assert (important.name, important.count) == ("Important", 0)
    client.create_label("Feedback")

    names = [lb.name for lb in client.get_labels().all()]
    assert names.index("Feedback") < names.index("Important")
    assert [lb.uuid for lb in client.get_labels(name="important").all()] == [important.uuid]
    assert [lb.name for lb in client.get_labels(uuid=important.uuid).all()] == ["Important"]

    renamed = client.update_label(important, "Very Important")
    assert (renamed.uuid, renamed.name) == (important.uuid, "Very Important")

    with pytest.raises(TembaBadRequestError) as error:
        client.create_label("x" * 65)
    assert error.value.errors == {
        "name": [
            "Cannot be longer than 64 characters.",
            "Ensure this field has no more than 64 characters.",
        ]
    }
    assert str(error.value) == (
        "Cannot be longer than 64 characters.. Ensure this field has no more than 64 characters."
    )
    with pytest.raises(TembaBadRequestError) as error:
        client.get_labels(uuid="nope").all()
    assert error.value.errors == {"detail": "Param 'uuid': nope is not a valid UUID."}
    with pytest.raises(TembaTokenError):
        live.client(live.viewer).create_label("Mine")

    client.delete_label(important.uuid)
    assert client.get_labels(uuid=important.uuid).all() == []
    with pytest.raises(TembaNoSuchObjectError):
        client.delete_label(important)
    with pytest.raises(TembaNoSuchObjectError):
        client.update_label(MISSING, "Nope")


def test_globals(live: Live) -> None:
    client = live.client()
    org_name = client.create_global("Org Name", "Acme Ltd")
    assert isinstance(org_name, Global)
    assert (org_name.key, org_name.name, org_name.value) == ("org_name", "Org Name", "Acme Ltd")
    assert isinstance(org_name.modified_on, datetime)
    assert org_name.modified_on.tzinfo is not None
    client.create_global("Access Token", "23464373")

    updated = client.update_global(org_name, "Acme LLC")  # an object works as the key
    assert (updated.key, updated.value) == ("org_name", "Acme LLC")
    assert updated.modified_on > org_name.modified_on
    keys = [g.key for g in client.get_globals().all()]
    assert keys.index("org_name") < keys.index("access_token")  # most recently modified first
    assert [g.value for g in client.get_globals(key="org_name").all()] == ["Acme LLC"]

    with pytest.raises(TembaBadRequestError) as error:
        client.create_global("2cool key", "x")
    assert error.value.errors == {"name": ["Name creates Key that is invalid"]}
    with pytest.raises(TembaBadRequestError) as error:
        client.update_global("org_name", "")
    assert error.value.errors == {"value": ["This field may not be blank."]}
    with pytest.raises(TembaNoSuchObjectError):
        client.update_global("nope", "x")
    with pytest.raises(TembaTokenError):
        live.client(live.viewer).update_global("org_name", "Hijacked")


# -- contacts ----------------------------------------------------------------------------------


def test_contacts(live: Live) -> None:
    client = live.client()
    client.create_field("Shoe Size", "number")
    client.create_field("Shirt Size", "text")
    customers = client.create_group("Customers")
    ben = client.create_contact(
        name="Ben",
        language="eng",
        urns=["tel:0788 123 123", "twitter:Ben"],  # normalised with the workspace's country
        fields={"shoe_size": "42.50"},
        groups=[customers],
    )
    assert isinstance(ben, Contact)
    assert (ben.name, ben.status, ben.language) == ("Ben", "active", "eng")
    assert ben.urns == ["tel:+250788123123", "twitter:ben"]
    assert [(g.uuid, g.name) for g in ben.groups] == [(customers.uuid, "Customers")]
    assert ben.fields["shoe_size"] == "42.5"
    assert ben.fields["shirt_size"] is None  # every field of the workspace, unset: null
    assert ben.flow is None
    assert isinstance(ben.created_on, datetime)
    assert ben.last_seen_on is None
    other = client.create_contact(name="Other", urns=["telegram:1234"], groups=["Customers"])

    assert [c.uuid for c in client.get_contacts().all()][:2] == [other.uuid, ben.uuid]
    assert [c.name for c in client.get_contacts(uuid=ben.uuid).all()] == ["Ben"]
    assert [c.name for c in client.get_contacts(urn="tel:+250788123123").all()] == ["Ben"]
    assert [c.name for c in client.get_contacts(urn="twitter:BEN").all()] == ["Ben"]
    in_group = client.get_contacts(group=customers).all()
    assert [c.name for c in in_group] == ["Other", "Ben"]
    assert [c.name for c in client.get_contacts(group="Customers", reverse=True).all()] == [
        "Ben",
        "Other",
    ]
    assert [
        c.name for c in client.get_contacts(group=customers, after=other.modified_on).all()
    ] == ["Other"]
    assert [c.name for c in client.get_contacts(group=customers, before=ben.modified_on).all()] == [
        "Ben"
    ]
    assert client.get_contacts(group="Nobody").all() == []
    assert client.get_contacts(uuid=ben.uuid).first().fields["shoe_size"] == "42.5"
    assert live.client(live.viewer).get_contacts().all() == []  # a viewer's own only

    ben = client.update_contact(ben, name="Ben H", fields={"shoe_size": None})
    assert (ben.name, ben.urns) == ("Ben H", ["tel:+250788123123", "twitter:ben"])
    assert ben.fields["shoe_size"] is None
    ben = client.update_contact("twitter:ben", language="fra", groups=[])
    assert (ben.name, ben.language, ben.groups) == ("Ben H", "fra", [])
    assert [c.name for c in client.get_contacts(group=customers).all()] == ["Other"]
    ben = client.update_contact(ben.uuid, urns=["tel:+250788123124"])
    assert ben.urns == ["tel:+250788123124"]
    # ?urn= that nobody has creates the contact with it (RapidPro's upsert)
    new = client.update_contact("tel:+250788555555", name="New")
    assert (new.name, new.urns) == ("New", ["tel:+250788555555"])

    with pytest.raises(TembaBadRequestError) as error:
        client.create_contact(urns=["nope"], language="xyz", groups=["Spammers"])
    assert error.value.errors == {
        "language": ["Not a valid ISO639-3 language code."],
        "groups": ["No such object: Spammers"],
        "urns": {"0": ["Invalid URN: nope. Ensure phone numbers contain country codes."]},
    }
    with pytest.raises(TembaBadRequestError) as error:
        client.create_contact(urns=["tel:+250788555555"])
    assert error.value.errors == {"urns": {"0": ["URN is in use by another contact."]}}
    with pytest.raises(TembaBadRequestError) as error:
        client.get_contacts(after="soon").all()
    assert error.value.errors == {"after": ["Value 'soon' is not a valid ISO8601 date/time."]}
    with pytest.raises(TembaNoSuchObjectError):
        client.update_contact(MISSING, name="Nobody")
    with pytest.raises(TembaTokenError):
        live.client(live.viewer).create_contact(name="Viewer's")

    client.delete_contact(ben)
    client.delete_contact("tel:+250788555555")  # by URN
    assert client.get_contacts(uuid=ben.uuid).all() == []
    deleted = client.get_contacts(deleted=True).all()
    assert {c.uuid for c in deleted} >= {ben.uuid, new.uuid}
    assert {c.name for c in deleted} == {None}
    client.delete_contact(ben)  # again, by UUID: a no-op (204), as in RapidPro
    with pytest.raises(TembaNoSuchObjectError):  # its URN is nobody's any more
        client.delete_contact("tel:+250788555555")
    with pytest.raises(TembaNoSuchObjectError):
        client.delete_contact(MISSING)
    with pytest.raises(TembaBadRequestError) as error:
        client.update_contact(ben, name="Zombie")
    assert error.value.errors == {"non_field_errors": ["Deleted contacts can't be modified."]}
    # the URN was freed
    assert client.create_contact(urns=["tel:+250788555555"]).uuid != new.uuid


def test_contact_actions(live: Live) -> None:
    client = live.client()
    testers = client.create_group("Testers")
    a = client.create_contact(name="A", urns=["tel:+250788200001"])
    b = client.create_contact(name="B", urns=["tel:+250788200002"])
    c = client.create_contact(name="C", urns=["tel:+250788200003"])

    def members() -> list[str]:
        return sorted(x.name for x in client.get_contacts(group=testers).all())

    client.bulk_add_contacts([a, b.uuid, "tel:+250788200003"], testers)  # objects, UUIDs, URNs
    assert members() == ["A", "B", "C"]
    assert client.get_groups(uuid=testers.uuid).first().count == 3
    client.bulk_remove_contacts([a], testers.uuid)
    assert members() == ["B", "C"]
    client.bulk_add_contacts([a], "Testers")  # a group name works too
    assert members() == ["A", "B", "C"]

    client.bulk_block_contacts([b])
    assert client.get_contacts(uuid=b.uuid).first().status == "blocked"
    with pytest.raises(TembaBadRequestError) as error:
        client.bulk_add_contacts([b], testers)
    assert error.value.errors == {
        "non_field_errors": [f"Non-active contacts cannot be added to groups: {b.uuid}"]
    }
    client.bulk_unblock_contacts([b])
    assert client.get_contacts(uuid=b.uuid).first().status == "active"

    client.bulk_interrupt_contacts([a, b])  # accepted; no flow runs yet
    client.bulk_archive_contact_messages([a])  # accepted; no messages yet
    assert {x.status for x in client.get_contacts(group=testers).all()} == {"active"}

    with pytest.raises(TembaBadRequestError) as error:
        client.bulk_add_contacts([c], "Nope")
    assert error.value.errors == {"group": ["No such object: Nope"]}
    with pytest.raises(TembaBadRequestError) as error:
        client.bulk_remove_contacts([c], None)
    assert error.value.errors == {
        "non_field_errors": ['For action "remove" you should also specify a group']
    }
    with pytest.raises(TembaBadRequestError) as error:
        client.bulk_block_contacts([])
    assert error.value.errors == {"contacts": ["Contacts can't be empty."]}
    with pytest.raises(TembaBadRequestError) as error:
        client.bulk_block_contacts([a.uuid] * 101)
    assert error.value.errors == {"contacts": ["Ensure this field has no more than 100 elements."]}
    with pytest.raises(TembaBadRequestError) as error:
        client.bulk_delete_contacts([MISSING])
    assert error.value.errors == {"contacts": [f"No such object: {MISSING}"]}
    with pytest.raises(TembaTokenError):
        live.client(live.viewer).bulk_block_contacts([c])

    client.bulk_delete_contacts([a, b])
    assert members() == ["C"]
    assert client.get_contacts(uuid=a.uuid).all() == []
    assert {a.uuid, b.uuid} <= {x.uuid for x in client.get_contacts(deleted=True).all()}


# -- pagination: 501 contacts, pages of 250 -----------------------------------------------------


def test_pagination(live: Live) -> None:
    client = live.client(live.paging_token)
    newest_first = [c.uuid for c in reversed(live.paged)]

    fetches = list(client.get_contacts().iterfetches())
    assert [len(page) for page in fetches] == [PAGE, PAGE, 1]
    assert [c.uuid for page in fetches for c in page] == newest_first
    assert all(isinstance(c, Contact) for page in fetches for c in page)
    assert [c.uuid for c in client.get_contacts().all()] == newest_first
    assert client.get_contacts().first().uuid == newest_first[0]

    oldest_first = client.get_contacts(reverse=True).iterfetches()
    assert [c.uuid for page in oldest_first for c in page] == newest_first[::-1]

    # filters stay in the cursor links
    evens = [c.uuid for c in reversed(live.paged[::2])]
    by_group = list(client.get_contacts(group=live.evens).iterfetches())
    assert [len(page) for page in by_group] == [PAGE, 1]
    assert [c.uuid for page in by_group for c in page] == evens
    after = client.get_contacts(after=live.paged[100].modified_on)  # inclusive
    assert [len(page) for page in after.iterfetches()] == [PAGE, PAGED - 100 - PAGE]
    assert [c.uuid for c in after.all()] == newest_first[: PAGED - 100]

    # resuming from a cursor the iterator hands out
    iterator = client.get_contacts().iterfetches()
    first = next(iterator)
    cursor = iterator.get_cursor()
    assert cursor
    resumed = list(client.get_contacts().iterfetches(resume_cursor=cursor))
    assert [c.uuid for page in [first, *resumed] for c in page] == newest_first
    assert list(iterator)[-1][-1].uuid == live.paged[0].uuid
    assert iterator.get_cursor() is None


# -- errors: token, unknown endpoint, rate limits -----------------------------------------------


@pytest.mark.parametrize("bad", ["", "nonsense", "rd_0000000000000000000000000000000"])
def test_bad_token(live: Live, bad: str) -> None:
    client = live.client(bad)
    with pytest.raises(TembaTokenError) as error:
        client.get_contacts().all()
    assert str(error.value) == "Authentication with provided token failed"
    with pytest.raises(TembaTokenError):
        client.create_label("Nope")
    with pytest.raises(TembaTokenError):
        client.get_org()


def test_endpoints_relaydesk_does_not_have(live: Live) -> None:
    client = live.client()
    with pytest.raises(TembaNoSuchObjectError):
        client.get_messages().all()
    with pytest.raises(TembaNoSuchObjectError):
        client.get_flows().all()


def test_rate_exceeded(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TembaClient(live.limited, live.demo)
    for _ in range(LIMIT):
        assert client.get_org().name == "Demo Workspace"
    with pytest.raises(TembaRateExceededError) as error:
        client.get_contacts().all()
    assert 1 <= error.value.retry_after <= 60
    assert f"Please wait {error.value.retry_after} seconds" in str(error.value)
    with pytest.raises(TembaRateExceededError):
        client.create_label("Too Fast")  # writes too

    # with retry_on_rate_exceed the client waits Retry-After and asks again, 5 times in all:
    # a rejected request is not counted, so retrying too soon is told the same thing
    waits: list[int] = []
    monkeypatch.setattr(temba_client.base, "time", types.SimpleNamespace(sleep=waits.append))
    with pytest.raises(TembaRateExceededError):
        client.get_org(retry_on_rate_exceed=True)
    assert len(waits) == 4
    assert all(1 <= w <= 60 for w in waits)


def test_iterfetches_retries_after_rate_exceeded(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 on the second page: the client waits ``Retry-After`` and goes on. Instead of
    really waiting up to a minute, the client's sleep lifts the workspace's limit (through the
    CLI, another process): the retry then gets through, as it would after the wait."""
    client = TembaClient(live.limited, live.paging_token)
    for _ in range(LIMIT - 1):
        client.get_org()
    waits: list[int] = []

    def sleep(seconds: int) -> None:
        waits.append(seconds)
        cli(live.env, "workspace", "update", live.paging, "--limit-minute", "1000")

    monkeypatch.setattr(temba_client.base, "time", types.SimpleNamespace(sleep=sleep))
    fetches = client.get_contacts().iterfetches(retry_on_rate_exceed=True)
    sizes = [len(page) for page in fetches]
    assert sizes == [PAGE, PAGE, 1]
    assert len(waits) == 1
    assert 1 <= waits[0] <= 60
