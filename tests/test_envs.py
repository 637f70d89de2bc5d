"""The env-var service (moai_adk.envs) against the Vercel and Netlify fakes and real files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_adk import envs
from moai_adk.errors import ConfigError, UsageError
from moai_adk.providers import make_provider
from moai_adk.providers.base import Provider, ProviderContext
from moai_adk.providers.capabilities import EnvStore
from moai_adk.providers.netlify import NetlifyProvider
from moai_adk.providers.vercel import VercelProvider
from tests.fakes.netlify import FakeNetlify
from tests.fakes.vercel import FakeVercel
from tests.providers.conftest import SleepRecorder, assert_spec_conformant, netlify_context, vercel_context


@pytest.fixture(params=["vercel", "netlify"])
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Provider]:
    p: Provider
    if request.param == "vercel":
        vfake = FakeVercel(build_steps=0)
        p = VercelProvider(vercel_context(tmp_path, vfake, SleepRecorder()))
        p.link()
        yield p
        assert_spec_conformant("vercel", vfake)
    else:
        nfake = FakeNetlify()
        p = NetlifyProvider(netlify_context(tmp_path, nfake, SleepRecorder()))
        p.link()
        yield p
        assert_spec_conformant("netlify", nfake)


def _store(platform: str, settings: dict | None = None) -> EnvStore:  # type: ignore[type-arg]
    ctx = ProviderContext(root=Path("."), settings=settings or {}, environ={"MOAI_PLATFORM_URL": "http://127.0.0.1:9"})
    provider = make_provider(platform, ctx)
    assert isinstance(provider, EnvStore)
    return provider


def test_each_adapter_maps_our_environments() -> None:
    assert _store("vercel").platform_environment("staging") == "preview"
    assert _store("vercel").platform_environment("development") == "development"
    assert _store("vercel").platform_environment("qa") == "preview"
    assert _store("vercel", {"custom_environments": {"staging": "env_1"}}).platform_environment("staging") == "custom:env_1"
    assert _store("netlify").platform_environment("preview") == "deploy-preview"
    assert _store("netlify").platform_environment("staging") == "branch-deploy"
    assert _store("netlify").platform_environment("development") == "dev"
    assert _store("local").platform_environment("staging") == "staging"
    assert "preview" in (_store("vercel").mapping_note("staging") or "")
    assert _store("vercel").mapping_note("production") is None
    assert _store("netlify").mapping_note("staging") is None


def test_dotenv_round_trip(tmp_path: Path) -> None:
    values = {"PLAIN": "abc", "SPACED": "a b", "QUOTE": 'say "hi"', "MULTI": "l1\nl2", "HASH": "x#y", "EMPTY": ""}
    text = envs.format_dotenv(values, "header line")
    assert text.startswith("# header line\n")
    assert envs.parse_dotenv(text, tmp_path / ".env") == values


def test_dotenv_parsing_rules(tmp_path: Path) -> None:
    text = "# c\nexport A=1\nB = two # comment\nC='lit $x \\n'\nD=\"e\\tf\"\n\n"
    assert envs.parse_dotenv(text, tmp_path / ".env") == {"A": "1", "B": "two", "C": "lit $x \\n", "D": "e\tf"}
    with pytest.raises(ConfigError) as err:
        envs.parse_dotenv("A=1\nnot a line\n", tmp_path / ".env")
    assert ".env:2" in err.value.message
    with pytest.raises(ConfigError):
        envs.parse_dotenv('A="open\n', tmp_path / ".env")


def test_set_reports_add_change_unchanged_and_dry_run(provider: Provider) -> None:
    assert envs.set_env(provider, "production", "A", "1", dry_run=True)["action"] == "add"
    assert provider.env_list("production") == []
    assert envs.set_env(provider, "production", "A", "1")["action"] == "add"
    assert envs.set_env(provider, "production", "A", "1")["action"] == "unchanged"
    assert envs.set_env(provider, "production", "A", "2")["action"] == "change"
    assert [(v.key, v.value) for v in provider.env_list("production")] == [("A", "2")]
    with pytest.raises(UsageError):
        envs.set_env(provider, "production", "1BAD", "x")


def test_unset_unknown_key_is_a_usage_error(provider: Provider) -> None:
    with pytest.raises(UsageError) as err:
        envs.unset_env(provider, "production", "NOPE")
    assert "NOPE" in err.value.message and "env list" in (err.value.hint or "")
    envs.set_env(provider, "production", "A", "1")
    envs.unset_env(provider, "production", "A", dry_run=True)
    assert [v.key for v in provider.env_list("production")] == ["A"]
    envs.unset_env(provider, "production", "A")
    assert provider.env_list("production") == []


def test_pull_never_blanks_secrets(provider: Provider, tmp_path: Path) -> None:
    provider.env_set("production", "API_URL", "https://api")
    provider.env_set("production", "TOKEN", "t0k3n", secret=True)
    provider.env_set("production", "OTHER_SECRET", "zzz", secret=True)
    target = tmp_path / ".env.production.local"
    target.write_text("TOKEN=my-local-copy\nOLD=gone\n")
    result = envs.pull_env(provider, "production", target)
    assert result.written == ["API_URL"]
    assert sorted(result.unreadable) == ["OTHER_SECRET", "TOKEN"]
    assert result.kept == ["TOKEN"]
    pulled = envs.parse_dotenv(target.read_text(), target)
    assert pulled == {"API_URL": "https://api", "TOKEN": "my-local-copy"}
    assert "OTHER_SECRET" not in target.read_text().split("\n", 2)[-1]  # only named in the header comment
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_pull_dry_run_writes_nothing(provider: Provider, tmp_path: Path) -> None:
    provider.env_set("preview", "A", "1")
    target = tmp_path / ".env.preview.local"
    result = envs.pull_env(provider, "preview", target, dry_run=True)
    assert result.written == ["A"] and not target.exists()


def test_push_sends_only_changes(provider: Provider, tmp_path: Path) -> None:
    provider.env_set("preview", "SAME", "1")
    provider.env_set("preview", "DIFF", "old")
    src = tmp_path / ".env.preview"
    src.write_text("SAME=1\nDIFF=new\nNEW=x\nKEY=s\n")
    plan = envs.push_env(provider, "preview", src, secret_keys=frozenset({"KEY"}), dry_run=True)
    assert (plan.added, plan.changed, plan.unchanged) == (["NEW", "KEY"], ["DIFF"], ["SAME"])
    assert {v.key for v in provider.env_list("preview")} == {"SAME", "DIFF"}
    envs.push_env(provider, "preview", src, secret_keys=frozenset({"KEY"}))
    got = {v.key: v for v in provider.env_list("preview")}
    assert got["DIFF"].value == "new" and got["NEW"].value == "x"
    assert got["KEY"].secret is True and got["KEY"].value is None


def test_push_missing_file(provider: Provider, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        envs.push_env(provider, "preview", tmp_path / "absent.env")
    assert "absent.env" in err.value.message
