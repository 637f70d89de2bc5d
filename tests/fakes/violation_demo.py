"""Tests that break the specs on purpose (not collected by a normal run: the name has no ``test_``
prefix). ``tests/providers/test_contract.py`` runs this file in a subprocess and checks that the
autouse fixture of ``tests/conftest.py`` fails both tests with a clear message."""

from __future__ import annotations

import httpx

from tests.fakes.netlify import FakeNetlify
from tests.fakes.vercel import FakeVercel


def test_a_request_outside_the_spec() -> None:
    fake = FakeVercel()
    with httpx.Client(transport=fake.transport(), base_url="https://api.vercel.test",
                      headers={"Authorization": "Bearer test-token"}) as client:
        client.get("/v10/projects", params={"colour": "red"})


def test_an_answer_outside_the_spec() -> None:
    fake = FakeNetlify()
    fake.add_site("demo")["name"] = 42  # the fake's own state made wrong: its answer breaks the spec
    with httpx.Client(transport=fake.transport(), base_url="https://api.netlify.test/api/v1",
                      headers={"Authorization": "Bearer test-token"}) as client:
        assert client.get("/sites").status_code == 200
