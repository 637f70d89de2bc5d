"""``Channels`` (named preview channels), ``Functions`` (server functions), ``Traffic`` (canary splits)."""

from __future__ import annotations

import pytest

from moai_adk.errors import MoaiError
from moai_adk.providers.base import Provider
from moai_adk.providers.capabilities import Channels, Functions, Hosting, Traffic, require

from ..conftest import Harness
from .base import PREVIEW, PROD, CheckSet, site


class ChannelsChecks(CheckSet):
    capability = Channels

    def check_preview_channel_listed_then_deleted(self, h: Harness) -> None:
        with h.provider() as provider:
            p = require(provider, Channels, "preview channels")
            hosting = require(provider, Hosting, "a site to preview")
            hosting.link()
            d = hosting.deploy(h.snapshot(site(h, 1), hosting), PREVIEW)
            assert d.url and d.production is False
            channels = {c["url"]: c for c in p.list_channels()}
            assert d.url in channels, "a preview deploy must appear among the channels"
            name = channels[d.url]["id"]
            assert name != h.live_channel
            assert h.live_channel in {c["id"] for c in channels.values()}
            p.delete_channel(name)
            assert name not in {c["id"] for c in p.list_channels()}

    def check_live_channel_is_refused(self, h: Harness) -> None:
        with h.use(Channels) as p:
            mark = len(h.requests())
            with pytest.raises(MoaiError) as refused:
                p.delete_channel(h.live_channel)
            assert refused.value.hint
            assert h.sent_since(mark) == [], "deleting production must be refused before any request"
            assert h.live_channel in {c["id"] for c in p.list_channels()}


class FunctionsChecks(CheckSet):
    capability = Functions

    def _write(self, h: Harness) -> None:
        assert h.functions_source, "the harness must give the files of a function named hello"
        for rel, text in h.functions_source.items():
            path = h.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def check_dry_run_sends_nothing(self, h: Harness) -> None:
        self._write(h)
        with h.use(Functions) as p:
            assert p.local_functions() == ["hello"]
            mark = len(h.requests())
            plan = p.deploy_functions(dry_run=True)
            assert [r["slug"] for r in plan] == ["hello"]
            assert h.sent_since(mark) == [], "a dry run must not send anything"
            assert "hello" not in {f["slug"] for f in p.list_functions()}

    def check_deploy_list_delete(self, h: Harness) -> None:
        self._write(h)
        with h.use(Functions) as p:
            deployed = p.deploy_functions(["hello"])
            assert [r["slug"] for r in deployed] == ["hello"]
        with h.use(Functions) as p:
            assert "hello" in {f["slug"] for f in p.list_functions()}
            p.delete_function("hello")
            assert "hello" not in {f["slug"] for f in p.list_functions()}


class TrafficChecks(CheckSet):
    capability = Traffic

    def _two(self, h: Harness, provider: Provider) -> tuple[str, str]:
        hosting = require(provider, Hosting, "deployments to split traffic between")
        hosting.link()
        old = hosting.promote(hosting.deploy(h.snapshot(site(h, 1), hosting), PROD).id)
        new = hosting.deploy(h.snapshot(site(h, 2), hosting), PROD)
        return old.id, new.id

    def check_set_read_clear_weights(self, h: Harness) -> None:
        with h.provider() as provider:
            old, new = self._two(h, provider)
            p = require(provider, Traffic, "traffic splits")
            assert p.traffic() is None
            p.set_traffic({old: 90, new: 10})
        with h.provider() as provider:  # the split is the platform's, not the provider object's
            p = require(provider, Traffic, "traffic splits")
            assert p.traffic() == {old: 90, new: 10}
            p.set_traffic({})
            assert p.traffic() is None
            live = require(provider, Hosting, "hosting").production()
            assert live is not None and live.id == old

    def check_bad_weights_are_refused(self, h: Harness) -> None:
        with h.provider() as provider:
            old, new = self._two(h, provider)
            p = require(provider, Traffic, "traffic splits")
            with pytest.raises(MoaiError) as refused:
                p.set_traffic({old: 50, new: 40})  # not 100 in all
            assert refused.value.hint
            assert p.traffic() is None
