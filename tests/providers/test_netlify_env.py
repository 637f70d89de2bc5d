"""Netlify environment variables against the fake, request by request as Netlify's CLI sends them
(netlify/cli src/commands/env/env-set.ts, env-unset.ts)."""

from __future__ import annotations

from typing import Any

import pytest

from moai_adk.errors import ProviderError, UsageError
from moai_adk.providers.netlify import NetlifyProvider
from tests.fakes import Recorded
from tests.fakes.netlify import ACCOUNT_SLUG, FakeNetlify

from .conftest import Harness

ALL_SCOPES = ["builds", "functions", "runtime", "post-processing"]
SECRET_SCOPES = ["builds", "functions", "runtime"]


def linked(h: Harness) -> NetlifyProvider:
    p = h.provider()
    assert isinstance(p, NetlifyProvider)
    p.link()
    return p


def env_requests(fake: FakeNetlify, method: str | None = None) -> list[Recorded]:
    return [r for r in fake.requests if "/env" in r.path and (method is None or r.method == method)]


def seed(fake: FakeNetlify, key: str, values: list[dict[str, str]], *, secret: bool = False,
         scopes: list[str] | None = None) -> None:
    fake.env[key] = {"key": key, "scopes": scopes or list(ALL_SCOPES), "is_secret": secret,
                     "updated_at": "2026-01-01T00:00:00Z",
                     "values": [{"id": f"v{i}", **v} for i, v in enumerate(values)]}


def by_context(fake: FakeNetlify, key: str) -> dict[str, Any]:
    return {v["context"]: v["value"] for v in fake.env[key]["values"]}


# -- account_slug in the path ------------------------------------------------------


def test_paths_name_the_account_by_its_slug(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    p.env_set("production", "A", "1")
    p.env_set("production", "A", "2")
    p.env_list("production")
    p.env_unset("production", "A")
    sent = env_requests(netlify_fake)
    assert len(sent) >= 5 and all(r.path.startswith(f"/accounts/{ACCOUNT_SLUG}/env") for r in sent)
    assert all(r.status < 400 or r.status == 404 for r in sent)
    assert "A" not in netlify_fake.env


def test_the_fake_refuses_the_account_id_in_the_path(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    site = netlify_fake.add_site("other")
    api = linked(netlify).api()
    wrong = api.request("GET", f"/accounts/{site['account_id']}/env", params={"site_id": site["id"]}, expect={404})
    assert wrong.status_code == 404


def test_a_site_without_account_slug_is_a_clear_error(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    site_id = linked(netlify).site_id() or ""
    netlify_fake.sites[site_id].pop("account_slug")
    p = netlify.provider()
    with pytest.raises(ProviderError) as err:
        p.env_list("production")
    assert "account" in err.value.message and not env_requests(netlify_fake)


# -- scopes ----------------------------------------------------------------------


def test_a_new_variable_is_sent_with_every_scope(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    p.env_set("preview", "PLAIN", "x")
    body = env_requests(netlify_fake, "POST")[0].json()
    assert body == [{"key": "PLAIN", "scopes": ALL_SCOPES, "values": [{"context": "deploy-preview", "value": "x"}],
                     "is_secret": False}]


def test_a_new_secret_leaves_out_post_processing(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    p.env_set("production", "TOKEN", "t0k", secret=True)
    body = env_requests(netlify_fake, "POST")[0].json()
    assert body[0]["scopes"] == SECRET_SCOPES and body[0]["is_secret"] is True
    assert netlify_fake.env["TOKEN"]["scopes"] == SECRET_SCOPES


def test_replacing_a_variable_keeps_its_scopes(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "NARROW", [{"context": "all", "value": "a"}], scopes=["builds", "functions"])
    p = linked(netlify)
    p.env_set("production", "NARROW", "p")
    put = env_requests(netlify_fake, "PUT")[0].json()
    assert put["scopes"] == ["builds", "functions"]
    assert netlify_fake.env["NARROW"]["scopes"] == ["builds", "functions"]
    assert by_context(netlify_fake, "NARROW")["production"] == "p"


def test_the_fake_refuses_a_secret_in_post_processing(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    api = linked(netlify).api()
    site_id = next(iter(netlify_fake.sites))
    answer = api.request("POST", f"/accounts/{ACCOUNT_SLUG}/env", params={"site_id": site_id}, expect={422},
                         json=[{"key": "S", "scopes": ALL_SCOPES, "is_secret": True,
                                "values": [{"context": "production", "value": "s"}]}])
    assert answer.status_code == 422 and "S" not in netlify_fake.env


# -- secrets never go to the dev context --------------------------------------------


def test_a_secret_for_development_is_refused_before_any_request(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    with pytest.raises(UsageError) as err:
        p.env_set("development", "TOKEN", "t0k", secret=True)
    assert "dev" in err.value.message and "--secret" in (err.value.hint or "")
    assert not env_requests(netlify_fake) and "TOKEN" not in netlify_fake.env


def test_the_fake_refuses_a_secret_value_in_dev(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    api = linked(netlify).api()
    site_id = next(iter(netlify_fake.sites))
    answer = api.request("POST", f"/accounts/{ACCOUNT_SLUG}/env", params={"site_id": site_id}, expect={422},
                         json=[{"key": "S", "scopes": SECRET_SCOPES, "is_secret": True,
                                "values": [{"context": "dev", "value": "s"}]}])
    assert answer.status_code == 422 and "dev" in answer.json()["message"]


def test_making_an_all_value_secret_leaves_dev_empty(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "KEY", [{"context": "all", "value": "shared"}])
    p = linked(netlify)
    p.env_set("production", "KEY", "live", secret=True)
    put = env_requests(netlify_fake, "PUT")[0].json()
    assert put["is_secret"] is True and put["scopes"] == SECRET_SCOPES
    sent = {v["context"]: v["value"] for v in put["values"]}
    assert sent == {"production": "live", "deploy-preview": "shared", "branch-deploy": "shared", "dev": "",
                    "dev-server": "shared"}
    assert by_context(netlify_fake, "KEY")["dev"] == ""


def test_a_secret_keeps_the_readable_dev_value_it_already_had(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "KEY", [{"context": "production", "value": "old"}, {"context": "dev", "value": "local"}])
    p = linked(netlify)
    p.env_set("production", "KEY", "live", secret=True)
    assert netlify_fake.env["KEY"]["is_secret"] is True
    assert by_context(netlify_fake, "KEY") == {"production": "live", "dev": "local"}
    assert {v.key: v.value for v in p.env_list("development")} == {"KEY": "local"}
    assert {v.key: v.value for v in p.env_list("production")} == {"KEY": None}


def test_a_plain_dev_value_on_a_secret_is_one_patch(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "KEY", [{"context": "production", "value": "hidden"}], secret=True, scopes=SECRET_SCOPES)
    p = linked(netlify)
    var = p.env_set("development", "KEY", "local")
    assert [r.method for r in env_requests(netlify_fake) if r.method != "GET"] == ["PATCH"]
    assert var.value == "local" and var.secret is True
    assert by_context(netlify_fake, "KEY") == {"production": "hidden", "dev": "local"}


def test_a_secret_is_never_rebuilt_from_hidden_values(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "KEY", [{"context": "production", "value": "p"}, {"context": "deploy-preview", "value": "d"}],
         secret=True, scopes=SECRET_SCOPES)
    p = linked(netlify)
    p.env_set("preview", "KEY", "d2", secret=True)  # one value: PATCH, the production value stays
    assert by_context(netlify_fake, "KEY") == {"production": "p", "deploy-preview": "d2"}
    with pytest.raises(UsageError) as err:
        p.env_set("preview", "KEY", "plain")  # un-secreting would blank the values Netlify hides
    assert "secret" in err.value.message and "Nothing was changed" in err.value.message
    assert by_context(netlify_fake, "KEY") == {"production": "p", "deploy-preview": "d2"}
    assert not env_requests(netlify_fake, "PUT")


# -- unset ---------------------------------------------------------------------------


def test_unset_one_context_of_an_all_value_keeps_the_others(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "SHARED", [{"context": "all", "value": "everywhere"}], scopes=["runtime"])
    p = linked(netlify)
    p.env_unset("preview", "SHARED")
    assert by_context(netlify_fake, "SHARED") == {"production": "everywhere", "branch-deploy": "everywhere",
                                                  "dev": "everywhere", "dev-server": "everywhere"}
    assert netlify_fake.env["SHARED"]["scopes"] == ["runtime"]


def test_unset_a_secret_value_deletes_it_by_id(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "KEY", [{"context": "production", "value": "p"}, {"context": "deploy-preview", "value": "d"}],
         secret=True, scopes=SECRET_SCOPES)
    p = linked(netlify)
    p.env_unset("preview", "KEY")
    assert [r.path for r in env_requests(netlify_fake, "DELETE")] == [f"/accounts/{ACCOUNT_SLUG}/env/KEY/value/v1"]
    assert by_context(netlify_fake, "KEY") == {"production": "p"}
    p.env_unset("production", "KEY")
    assert "KEY" not in netlify_fake.env


def test_unset_part_of_a_hidden_all_secret_is_refused(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    seed(netlify_fake, "OLD", [{"context": "all", "value": "hidden"}], secret=True, scopes=SECRET_SCOPES)
    p = linked(netlify)
    with pytest.raises(ProviderError) as err:
        p.env_unset("production", "OLD")
    assert "Netlify UI" in (err.value.hint or "")
    assert by_context(netlify_fake, "OLD") == {"all": "hidden"}


def test_push_with_a_secret_for_development_writes_nothing(netlify: Harness, tmp_path: Any) -> None:
    from moai_adk import envs

    p = linked(netlify)
    dotenv = tmp_path / ".env"
    dotenv.write_text("PLAIN_A=1\nPLAIN_B=2\nTOKEN=s3cret\n")
    before = len(netlify.fake.requests)
    with pytest.raises(UsageError, match="cannot keep TOKEN secret"):
        envs.push_env(p, "development", dotenv, secret_keys=frozenset({"TOKEN"}))
    assert not [r for r in netlify.fake.requests[before:] if r.method != "GET"]  # no variable was written
    assert not netlify.fake.env
