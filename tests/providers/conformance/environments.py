"""``Environments``: which deployment an environment serves, and pointing one at an existing deployment
(build once, promote many): production always takes the same artifact, the same deployment where the
platform allows it, else a new deployment made from it that says so (``extra["from_deployment"]``)."""

from __future__ import annotations

from moai_adk.errors import NotSupported
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.capabilities import Environments, Hosting

from ..conftest import Harness
from .base import PROD, CheckSet, production_ids, site

STAGING = DeployTarget(environment="staging")


class EnvironmentsChecks(CheckSet):
    capability = Environments

    def check_promote_a_staged_deployment_to_production(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            assert isinstance(p, Environments)
            p.link()
            first = p.deploy(h.snapshot(site(h, 1), p), PROD)
            p.promote(first.id)
            staged = p.deploy(h.snapshot(site(h, 2), p), STAGING)
            live = p.environment_deployment("production")
            assert live is not None and live.id == first.id
            moved = p.assign("production", staged.id)
            assert moved.id == staged.id or moved.extra.get("from_deployment") == staged.id, \
                "production must serve the staged artifact: that deployment, or one made from it saying so"
            assert production_ids(p) == [moved.id]
            now = p.environment_deployment("production")
            assert now is not None and now.id == moved.id

    def check_point_a_preview_environment_or_refuse_by_name(self, h: Harness) -> None:
        with h.use(Hosting) as p:
            assert isinstance(p, Environments)
            p.link()
            first = p.deploy(h.snapshot(site(h, 1), p), PROD)
            p.promote(first.id)
            assert p.environment_deployment("qa") is None, "an environment nothing was deployed to serves nothing"
            staged = p.deploy(h.snapshot(site(h, 2), p), STAGING)
            found = p.environment_deployment("staging")
            try:
                pointed = p.assign("staging", staged.id)
            except NotSupported as refused:
                assert "staging" in refused.message and refused.hint
                assert found is not None and found.id == staged.id, "a platform that cannot point an environment " \
                    "still finds what was deployed to it"
            else:
                assert pointed.id == staged.id
                again = p.environment_deployment("staging")
                assert again is not None and again.id == staged.id
            assert production_ids(p) == [first.id], "pointing a preview environment must not touch production"
