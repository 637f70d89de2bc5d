"""``Hosting``: link, digest deploys that never go live by themselves, promote, rollback, listing."""

from __future__ import annotations

import re

from moai_adk.providers.base import LinkResult
from moai_adk.providers.capabilities import Hosting

from ..conftest import Harness
from .base import PREVIEW, PROD, CheckSet, production_ids, site


class HostingChecks(CheckSet):
    capability = Hosting

    def check_link_is_idempotent(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            mark = len(h.requests())
            dry = p.link(dry_run=True)
            assert isinstance(dry, LinkResult) and dry.dry_run is True
            assert h.sent_since(mark, writes_only=True) == [], "a dry-run link changed something"
            first = p.link()
            assert isinstance(first, LinkResult)
            assert first.platform == p.name
            assert first.id, "link() must name the remote project/site"
            assert first.dry_run is False
        with h.use(Hosting) as p:  # a new provider finds what the first one linked
            again = p.link()
            assert again.id == first.id
            assert again.created is False, "linking an existing project/site must not say it created one"
            mark = len(h.requests())
            dry = p.link(dry_run=True)
            assert dry.dry_run is True and dry.id == first.id and dry.created is False
            assert h.sent_since(mark, writes_only=True) == []
        with h.providers[-1]:  # the same provider, closed on leaving the block above, is used again
            assert p.link().id == first.id, "a closed provider may be used again"

    def check_deploy_is_ready_and_not_live(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            p.link()
            d = p.deploy(h.snapshot(site(h, 1), p), PROD)
            assert d.state == "ready"
            assert bool(d.url) == h.unreleased_url
            assert d.stats.files_total >= 3
            assert d.stats.files_uploaded == 3
            live: list[str] = []
            if d.production:  # a platform that makes a new project's first deployment production must say so
                assert d.extra.get("became_production") is True, "a deployment went live without saying so"
                live = [d.id]
                d = p.deploy(h.snapshot(site(h, 2), p), PROD)
            assert d.production is False
            assert production_ids(p) == live, "deploy() must not switch production before promote()"
            assert [x.id for x in p.list_deployments()].count(d.id) == 1
            assert p.get_deployment(d.id).id == d.id
            preview = p.deploy(h.snapshot(site(h, 3), p), PREVIEW)
            assert preview.state == "ready" and preview.url and preview.production is False
            assert production_ids(p) == live, "a preview deploy must never switch production"

    def check_progress_receives_every_byte(self, h: Harness) -> None:
        calls: list[tuple[int, int]] = []
        with h.use(Hosting) as p:
            p.link()
            snap = h.snapshot(site(h, 1), p)
            d = p.deploy(snap, PROD, lambda files, size: calls.append((files, size)))
            assert sum(f for f, _ in calls) == d.stats.files_uploaded == len(snap.files)
            assert sum(b for _, b in calls) == snap.total_bytes
            calls.clear()
            changed = h.snapshot(site(h, 2), p)
            p.deploy(changed, PROD, lambda files, size: calls.append((files, size)))
            sent = sum(b for _, b in calls)
            assert len(site(h, 2)["index.html"]) <= sent <= changed.total_bytes

    def check_redeploy_uploads_nothing_new(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            p.link()
            first = p.deploy(h.snapshot(site(h, 1), p), PROD)
            mark = len(h.requests())
            again = p.deploy(h.snapshot(site(h, 1), p), PROD)
        assert first.stats.files_uploaded == 3
        assert again.stats.files_uploaded == 0
        assert again.stats.bytes_uploaded == 0
        uploads = [r for r in h.sent_since(mark) if re.search(h.upload_path, r.path)]
        assert uploads == [], "a redeploy of unchanged files uploaded some"
        assert [r for r in h.requests()[:mark] if re.search(h.upload_path, r.path)], "no upload was ever seen"

    def check_changed_file_uploads_only_that_file(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            p.link()
            p.deploy(h.snapshot(site(h, 1), p), PROD)
            mark = len(h.requests())
            d = p.deploy(h.snapshot(site(h, 2), p), PROD)
        changed = str(site(h, 2)["index.html"]).encode()
        assert d.stats.files_uploaded == 1
        assert d.stats.bytes_uploaded == h.upload_size(changed)
        assert len([r for r in h.sent_since(mark) if re.search(h.upload_path, r.path)]) == 1

    def check_promote_switches_production(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            p.link()
            d = p.deploy(h.snapshot(site(h, 1), p), PROD)
            promoted = p.promote(d.id)
            assert promoted.id == d.id
            assert promoted.production is True
            assert promoted.state == "ready"
            assert production_ids(p) == [promoted.id]
            live = p.production()
            assert live is not None and live.id == d.id

    def check_rollback_returns_to_previous_production(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            p.link()
            first = p.promote(p.deploy(h.snapshot(site(h, 1), p), PROD).id)
            second = p.promote(p.deploy(h.snapshot(site(h, 2), p), PROD).id)
            assert production_ids(p) == [second.id]
            back = p.rollback()
            assert back.id == first.id
            assert back.production is True
            assert production_ids(p) == [first.id]
            # and forward again, by id
            again = p.rollback(second.id)
            assert again.id == second.id
            assert production_ids(p) == [second.id]

    def check_list_deployments_newest_first(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            p.link()
            ids = [p.deploy(h.snapshot(site(h, n), p), PROD).id for n in (1, 2, 3)]
            listed = [d.id for d in p.list_deployments()]
            assert listed[:3] == ids[::-1]
            assert [d.id for d in p.list_deployments(limit=2)] == ids[:0:-1]
