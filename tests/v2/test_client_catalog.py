"""The official RapidPro client (``temba_client``, unmodified) on fields, labels and globals,
against a real ``relaydesk serve`` process on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime

import pytest
from temba_client.exceptions import TembaBadRequestError, TembaNoSuchObjectError
from temba_client.v2 import TembaClient
from temba_client.v2.types import Field, Global, Label

from tests.test_e2e_serve import fresh_database, server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TembaClient]:
    tmp_path = tmp_path_factory.mktemp(f"catalog_{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(fresh_database(str(request.param), tmp_path))
        base, out, _log = stack.enter_context(server(env, tmp_path))
        match = re.search(r"company token\s*:\s*(rd_\w+)", out.read_text())
        assert match, out.read_text()
        yield TembaClient(base, match.group(1))


def test_fields(client: TembaClient) -> None:
    created = client.create_field("Nick Name", "text")
    assert isinstance(created, Field)
    assert (created.key, created.name, created.type) == ("nick_name", "Nick Name", "text")
    client.create_field("Age", "number")

    fields = client.get_fields().all()
    assert [(f.key, f.name, f.type) for f in fields] == [
        ("age", "Age", "number"),
        ("nick_name", "Nick Name", "text"),
    ]
    assert [f.key for f in client.get_fields(key="age").all()] == ["age"]

    updated = client.update_field("age", "Real Age", "datetime")
    assert (updated.key, updated.name, updated.type) == ("age", "Real Age", "datetime")
    updated = client.update_field(updated, "Age", "number")  # an object works as the key too
    assert updated.name == "Age"

    with pytest.raises(TembaBadRequestError) as error:
        client.create_field("nick name", "text")
    assert error.value.errors == {"name": ["This field must be unique."]}
    with pytest.raises(TembaNoSuchObjectError):
        client.update_field("nope", "Nope", "text")


def test_labels(client: TembaClient) -> None:
    important = client.create_label("Important")
    assert isinstance(important, Label)
    assert important.name == "Important"
    assert important.count == 0
    client.create_label("Feedback")

    assert [lb.name for lb in client.get_labels().all()][:2] == ["Feedback", "Important"]
    assert [lb.uuid for lb in client.get_labels(name="important").all()] == [important.uuid]
    assert [lb.name for lb in client.get_labels(uuid=important.uuid).all()] == ["Important"]

    renamed = client.update_label(important, "Very Important")
    assert (renamed.uuid, renamed.name) == (important.uuid, "Very Important")

    with pytest.raises(TembaBadRequestError) as error:
        client.create_label('Say "hi"')
    assert error.value.errors == {"name": ['Cannot contain the character: "']}

    client.delete_label(important.uuid)
    assert client.get_labels(uuid=important.uuid).all() == []
    with pytest.raises(TembaNoSuchObjectError):
        client.delete_label(important.uuid)


def test_globals(client: TembaClient) -> None:
    org_name = client.create_global("Org Name", "Acme Ltd")
    assert isinstance(org_name, Global)
    assert (org_name.key, org_name.name, org_name.value) == ("org_name", "Org Name", "Acme Ltd")
    assert isinstance(org_name.modified_on, datetime)
    assert org_name.modified_on.tzinfo is not None

    updated = client.update_global("org_name", "Acme LLC")
    assert updated.value == "Acme LLC"
    assert updated.modified_on > org_name.modified_on
    client.create_global("Access Token", "23464373")

    assert [g.key for g in client.get_globals().all()][:2] == ["access_token", "org_name"]
    assert [g.value for g in client.get_globals(key="org_name").all()] == ["Acme LLC"]

    with pytest.raises(TembaBadRequestError) as error:
        client.create_global("2cool key", "x")
    assert error.value.errors == {"name": ["Name creates Key that is invalid"]}
    with pytest.raises(TembaNoSuchObjectError):
        client.update_global("nope", "x")
