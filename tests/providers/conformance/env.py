"""``EnvStore`` (variables per environment) and ``Secrets`` (write-only values set together)."""

from __future__ import annotations

import pytest

from moai_adk.errors import MoaiError
from moai_adk.providers.base import EnvVar
from moai_adk.providers.capabilities import EnvStore, Secrets

from ..conftest import Harness
from .base import CheckSet, ready_for_env

ENVIRONMENTS = ("production", "preview", "staging", "development")


def by_key(vars: list[EnvVar]) -> dict[str, EnvVar]:
    return {v.key: v for v in vars}


class EnvStoreChecks(CheckSet):
    capability = EnvStore

    def check_round_trip(self, h: Harness) -> None:
        with h.use(EnvStore) as p:
            ready_for_env(p)
            set_ = p.env_set("production", "API_URL", "https://api.example.com")
            assert set_.key == "API_URL"
            prod = by_key(p.env_list("production"))
            assert set(prod) == {"API_URL"}
            if h.values_readable:
                assert prod["API_URL"].value == "https://api.example.com"
                assert prod["API_URL"].secret is False
            else:  # a platform that never reveals a value says every variable is secret
                assert prod["API_URL"].value is None
                assert prod["API_URL"].secret is True
            # overwrite, then unset
            p.env_set("production", "API_URL", "https://api2.example.com")
            again = by_key(p.env_list("production"))
            assert set(again) == {"API_URL"}
            assert again["API_URL"].value == ("https://api2.example.com" if h.values_readable else None)
            p.env_unset("production", "API_URL")
            assert p.env_list("production") == []

    def check_environments_are_isolated(self, h: Harness) -> None:
        with h.use(EnvStore) as p:
            ready_for_env(p)
            p.env_set("production", "API_URL", "https://api.example.com")
            p.env_set("production", "ONLY_PROD", "1")
            p.env_set("preview", "API_URL", "https://preview.example.com")
        with h.use(EnvStore) as p:  # a new provider sees what the first one stored
            prod, preview = by_key(p.env_list("production")), by_key(p.env_list("preview"))
            assert set(prod) == {"API_URL", "ONLY_PROD"}
            assert set(preview) == {"API_URL"}
            if h.values_readable:
                assert prod["API_URL"].value == "https://api.example.com"
                assert preview["API_URL"].value == "https://preview.example.com"
            p.env_unset("production", "API_URL")
            assert set(by_key(p.env_list("production"))) == {"ONLY_PROD"}
            assert set(by_key(p.env_list("preview"))) == {"API_URL"}
            if h.values_readable:
                assert by_key(p.env_list("preview"))["API_URL"].value == "https://preview.example.com"

    def check_secret_values_are_hidden(self, h: Harness) -> None:
        with h.use(EnvStore) as p:
            ready_for_env(p)
            stored = p.env_set("production", "API_TOKEN", "s3cr3t-value", secret=True)
            assert stored.secret is True
            assert stored.value in (None, "s3cr3t-value")
            listed = by_key(p.env_list("production"))["API_TOKEN"]
            assert listed.secret is True
            if h.secret_readable is False:
                assert listed.value is None, "the platform hides secrets, the listing must too"
            else:
                assert listed.value in (None, "s3cr3t-value")

    def check_platform_environment_is_a_name(self, h: Harness) -> None:
        with h.use(EnvStore) as p:
            mark = len(h.requests())
            for env in ENVIRONMENTS:
                mapped = p.platform_environment(env)
                assert isinstance(mapped, str) and mapped
                note = p.mapping_note(env)
                assert note is None or (isinstance(note, str) and note)
            assert p.platform_environment("production")
            assert h.sent_since(mark) == [], "naming environments must not send requests"

    def check_env_value_refused_before_sending(self, h: Harness) -> None:
        with h.use(EnvStore) as p:
            ready_for_env(p)
            mark = len(h.requests())
            p.check_env_value("production", "API_URL", "https://api.example.com")  # a fine value passes
            for case in h.env_refusals:
                with pytest.raises(MoaiError) as refused:
                    p.check_env_value(case.environment, case.key, case.value, secret=case.secret)
                assert refused.value.hint, "a refusal names the fix"
            assert h.sent_since(mark) == [], "check_env_value must decide before sending anything"
            for case in h.env_refusals:  # env_set refuses the same, and writes nothing
                with pytest.raises(MoaiError):
                    p.env_set(case.environment, case.key, case.value, secret=case.secret)
                assert case.key not in by_key(p.env_list(case.environment))
            assert h.sent_since(mark, writes_only=True) == []


class SecretsChecks(CheckSet):
    capability = Secrets

    def check_set_secrets_in_one_request(self, h: Harness) -> None:
        with h.use(Secrets) as p:
            mark = len(h.requests())
            stored = p.set_secrets("production", {"STRIPE_KEY": "sk_live_1", "OPENAI_KEY": "sk-abc"})
            assert h.sent_since(mark, writes_only=True) and len(h.sent_since(mark, writes_only=True)) == 1
            assert sorted(v.key for v in stored) == ["OPENAI_KEY", "STRIPE_KEY"]
            assert all(v.secret and v.value is None and v.environments == ["production"] for v in stored)
            mark = len(h.requests())
            p.set_secrets("production", {"STRIPE_KEY": "sk_live_2", "THIRD": "3"})  # overwrite and add
            assert len(h.sent_since(mark, writes_only=True)) == 1

    def check_values_are_never_listed(self, h: Harness) -> None:
        values = {"STRIPE_KEY": "sk_live_visible?", "OPENAI_KEY": "sk-visible?"}
        with h.use(Secrets) as p:
            stored = p.set_secrets("production", values)
        assert all(v.value is None for v in stored)
        with h.provider() as provider:  # where the secrets are listed (an EnvStore): names only
            if not isinstance(provider, EnvStore):
                return
            listed = by_key(provider.env_list("production"))
            assert set(listed) >= set(values)
            for key in values:
                assert listed[key].value is None and listed[key].secret is True
            assert not {v.value for v in listed.values()} & set(values.values())

    def check_bad_secret_refused_before_sending(self, h: Harness) -> None:
        assert h.env_refusals, "the harness must name a secret the platform refuses"
        with h.use(Secrets) as p:
            mark = len(h.requests())
            for case in h.env_refusals:  # one bad value in the set: nothing is sent, nothing is set
                with pytest.raises(MoaiError):
                    p.set_secrets(case.environment, {"GOOD_KEY": "1", case.key: case.value})
            assert h.sent_since(mark) == []
