"""Firebase Hosting provider against the stateful fake (deploy, channels, promote, rollback)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_adk.artifacts.hashcache import HashCache
from moai_adk.artifacts.snapshot import Snapshot, take_snapshot
from moai_adk.errors import IntegrityError, NotFoundError, NotSupported, StateError, UsageError
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.capabilities import EnvStore, require
from tests.fakes.firebase import FakeFirebase, firebase_provider


@pytest.fixture
def fake() -> Iterator[FakeFirebase]:
    f = FakeFirebase()
    yield f
    assert f.violations == [], f.violations


def make_site(root: Path, n: int) -> Path:
    out = root / "dist"
    (out / "assets").mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text("<h1>home</h1>")
    for i in range(n - 1):
        (out / "assets" / f"f{i}.txt").write_text(f"file {i}\n" * 3)
    return out


def snap(out: Path, cache: HashCache | None = None) -> Snapshot:
    return take_snapshot(out, ("gzip-sha256",), cache=cache)


def get(fake: FakeFirebase, url: str) -> tuple[int, str]:
    import httpx

    with httpx.Client(transport=fake.transport()) as c:
        r = c.get(url)
    return r.status_code, r.text


def test_preview_deploy_then_redeploy_uploads_only_the_changed_file(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 2500)
    progress: list[tuple[int, int]] = []
    provider = firebase_provider(fake, tmp_path)
    first = provider.deploy(snap(out), DeployTarget(environment="preview", branch="feature/login"),
                            lambda f, b: progress.append((f, b)))
    assert first.state == "ready" and first.url and first.url == first.health_url
    assert first.extra["channel"] == "feature-login"
    assert first.stats.files_total == 2500 and first.stats.files_uploaded == 2500
    assert sum(f for f, _ in progress) == 2500
    assert fake.count("POST", r":populateFiles$") == math.ceil(2500 / 1000)
    assert get(fake, first.url + "/")[1] == "<h1>home</h1>"
    assert fake.live_version() is None  # a preview never touches production

    (out / "index.html").write_text("<h1>changed</h1>")
    calls_before = len(fake.calls)
    uploads_before = len(fake.uploaded)
    second = provider.deploy(snap(out), DeployTarget(environment="preview", branch="feature/login"))
    assert len(fake.uploaded) - uploads_before == 1
    assert second.stats.files_uploaded == 1
    new_calls = fake.calls[calls_before:]
    assert sum(1 for c in new_calls if c.path.endswith(":populateFiles")) == 3
    assert sum(1 for c in new_calls if c.path.startswith("/upload/")) == 1
    assert second.id != first.id and second.url == first.url
    assert get(fake, second.url + "/")[1] == "<h1>changed</h1>"


def test_identical_contents_upload_once(tmp_path: Path, fake: FakeFirebase) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    for i in range(5):
        (out / f"same{i}.txt").write_text("same bytes")
    d = firebase_provider(fake, tmp_path).deploy(snap(out), DeployTarget())
    assert d.stats.files_uploaded == 1 and d.stats.files_total == 5


def test_preview_channel_ttl(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 3)
    provider = firebase_provider(fake, tmp_path)
    d = provider.deploy(snap(out), DeployTarget(environment="staging"))
    create = [c for c in fake.calls if c.method == "POST" and c.path.endswith("/channels")]
    assert create[0].query["channelId"] == ["staging"] and json.loads(create[0].body) == {"ttl": "604800s"}
    assert d.extra["expire_time"]
    d3 = provider.deploy(snap(out), DeployTarget(environment="staging", expires="2d"))
    patch = [c for c in fake.calls if c.method == "PATCH" and c.path.endswith("/channels/staging")]
    assert json.loads(patch[0].body) == {"ttl": "172800s"} and patch[0].query["updateMask"] == ["ttl"]
    assert d3.extra["expire_time"] != d.extra["expire_time"]
    fake2 = FakeFirebase()
    firebase_provider(fake2, tmp_path).deploy(snap(out), DeployTarget(branch="pr-7", expires="12h"))
    body = [json.loads(c.body) for c in fake2.calls if c.method == "POST" and c.path.endswith("/channels")]
    assert body == [{"ttl": "43200s"}]


def test_redeploy_on_day_6_extends_the_channel_so_it_does_not_vanish_next_day(tmp_path: Path,
                                                                              fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 3)
    provider = firebase_provider(fake, tmp_path)
    provider.deploy(snap(out), DeployTarget(environment="preview", branch="pr-9"))
    fake.advance(6 * 86400)
    d = provider.deploy(snap(out), DeployTarget(environment="preview", branch="pr-9"))
    patch = [c for c in fake.calls if c.method == "PATCH" and c.path.endswith("/channels/pr-9")]
    assert len(patch) == 1 and json.loads(patch[0].body) == {"ttl": "604800s"}
    assert patch[0].query["updateMask"] == ["ttl"]
    fake.advance(2 * 86400)  # day 8: without the renewal the channel would have expired on day 7
    assert get(fake, d.url + "/")[1] == "<h1>home</h1>"
    assert "pr-9" in [c["id"] for c in provider.list_channels()]
    fake.advance(6 * 86400)  # day 14: 8 days after the last deploy, the renewed TTL has run out
    assert "pr-9" not in [c["id"] for c in provider.list_channels()]


def test_a_channel_with_more_time_left_than_the_ttl_keeps_it(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 3)
    provider = firebase_provider(fake, tmp_path)
    provider.deploy(snap(out), DeployTarget(environment="preview", branch="long", expires="30d"))
    fake.advance(86400)
    provider.deploy(snap(out), DeployTarget(environment="preview", branch="long"))  # 29 days left > 7 days
    assert fake.count("PATCH", r"/channels/long$") == 0
    fake.sites["demo-site"].channels["long"].pop("expireTime")  # a channel that never expires
    provider.deploy(snap(out), DeployTarget(environment="preview", branch="long"))
    assert fake.count("PATCH", r"/channels/long$") == 0
    provider.deploy(snap(out), DeployTarget(environment="preview", branch="long", expires="3d"))
    assert fake.count("PATCH", r"/channels/long$") == 1


@pytest.mark.parametrize("bad", ["7x", "0d", "31d", "soon"])
def test_bad_expires_is_refused_before_any_request(tmp_path: Path, fake: FakeFirebase, bad: str) -> None:
    out = make_site(tmp_path, 2)
    with pytest.raises(UsageError, match="--expires"):
        firebase_provider(fake, tmp_path).deploy(snap(out), DeployTarget(expires=bad))
    assert fake.calls == []


def test_production_deploy_waits_for_promote(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 4)
    provider = firebase_provider(fake, tmp_path)
    d = provider.deploy(snap(out), DeployTarget(environment="production", production=True))
    assert d.state == "ready" and d.url is None and not d.production
    assert fake.sites["demo-site"].versions[d.id]["status"] == "FINALIZED"
    assert fake.live_version() is None and fake.count("POST", r"/releases$") == 0
    promoted = provider.promote(d.id)
    assert promoted.production and fake.live_version() == d.id
    assert get(fake, promoted.url + "/index.html") == (200, "<h1>home</h1>")
    again = provider.promote(d.id)
    assert again.extra["already_live"] and fake.count("POST", r"/releases$") == 1


def test_promote_a_preview_releases_the_same_version_on_live(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 3)
    provider = firebase_provider(fake, tmp_path)
    preview = provider.deploy(snap(out), DeployTarget(environment="preview"))
    provider.promote(preview.id)
    assert fake.live_version() == preview.id
    assert fake.count("POST", r"versions:clone$") == 0
    channels = {c["id"]: c["version"] for c in provider.list_channels()}
    assert channels == {"live": preview.id, "preview": preview.id}


def test_promote_a_version_of_another_site_clones_it(tmp_path: Path, fake: FakeFirebase) -> None:
    fake.add_site("staging-site")
    out = make_site(tmp_path, 3)
    staging = firebase_provider(fake, tmp_path, settings={"site": "staging-site"})
    d = staging.deploy(snap(out), DeployTarget(environment="production", production=True))
    prod = firebase_provider(fake, tmp_path, settings={"site": "demo-site"})
    promoted = prod.promote(f"sites/staging-site/versions/{d.id}")
    assert fake.count("POST", r"versions:clone$") == 1 and fake.count("GET", r"/operations/") == 1
    assert promoted.id != d.id and fake.live_version("demo-site") == promoted.id
    assert fake.live_version("staging-site") is None
    assert get(fake, promoted.url + "/") == (200, "<h1>home</h1>")
    clones = fake.count("POST", r"versions:clone$")
    with pytest.raises(UsageError, match="belongs to site 'staging-site'"):
        prod.rollback(f"sites/staging-site/versions/{d.id}")
    with pytest.raises(UsageError):
        prod.get_deployment(f"sites/staging-site/versions/{d.id}")
    assert fake.count("POST", r"versions:clone$") == clones  # only promote copies across sites


def test_promote_refuses_unfinished_version(tmp_path: Path, fake: FakeFirebase) -> None:
    provider = firebase_provider(fake, tmp_path)
    version = provider.api.create_version()
    with pytest.raises(StateError, match="CREATED"):
        provider.promote(version["name"].rsplit("/", 1)[-1])
    with pytest.raises(NotFoundError):
        provider.promote("doesnotexist")


def test_rollback(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 2)
    provider = firebase_provider(fake, tmp_path)
    prod = DeployTarget(environment="production", production=True)
    v1 = provider.deploy(snap(out), prod)
    provider.promote(v1.id)
    with pytest.raises(NotFoundError, match="no earlier live release"):
        provider.rollback()
    (out / "index.html").write_text("v2")
    v2 = provider.deploy(snap(out), prod)
    provider.promote(v2.id)
    back = provider.rollback()
    assert back.id == v1.id and fake.live_version() == v1.id
    assert fake.sites["demo-site"].releases["live"][0]["type"] == "ROLLBACK"
    assert get(fake, back.url + "/") == (200, "<h1>home</h1>")
    forward = provider.rollback(v2.id)
    assert forward.id == v2.id and fake.live_version() == v2.id
    assert provider.rollback().id == v1.id  # the one before the current live release


def test_list_and_get_deployments(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 2)
    provider = firebase_provider(fake, tmp_path)
    a = provider.deploy(snap(out), DeployTarget(environment="preview", branch="a"))
    b = provider.deploy(snap(out), DeployTarget(environment="production", production=True))
    provider.promote(b.id)
    listed = provider.list_deployments()
    assert [d.id for d in listed] == [b.id, a.id]
    assert listed[0].production and listed[0].target == "production"
    assert not listed[1].production and listed[1].url == a.url and listed[1].target == "a"
    assert provider.list_deployments(limit=1)[0].id == b.id
    got = provider.get_deployment(a.id)
    assert got.state == "ready" and got.extra["channels"] == ["a"]


def test_channels_list_and_delete(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 2)
    provider = firebase_provider(fake, tmp_path)
    provider.deploy(snap(out), DeployTarget(branch="old-pr"))
    ids = {c["id"] for c in provider.list_channels()}
    assert ids == {"live", "old-pr"}
    provider.delete_channel("old-pr")
    assert {c["id"] for c in provider.list_channels()} == {"live"}
    sent = len(fake.calls)
    with pytest.raises(UsageError, match="live"):
        provider.delete_channel("live")
    assert len(fake.calls) == sent
    with pytest.raises(NotFoundError):
        provider.delete_channel("never-made")


def test_ignore_globs_leave_files_out(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 3)
    (out / "app.js.map").write_text("map")
    (tmp_path / "firebase.json").write_text(json.dumps({"hosting": {"public": "dist", "ignore": ["**/*.map"]}}))
    d = firebase_provider(fake, tmp_path).deploy(snap(out), DeployTarget())
    files = fake.sites["demo-site"].files[d.id]
    assert "/app.js.map" not in files and "/index.html" in files and d.stats.files_total == 3


def test_uploads_run_on_the_shared_upload_engine(tmp_path: Path, fake: FakeFirebase) -> None:
    from moai_adk.artifacts import hashing
    from moai_adk.providers._upload import Uploader
    from moai_adk.providers.firebase.upload import GzipUploader

    assert issubclass(GzipUploader, Uploader) and GzipUploader.algorithm == "sha256"
    out = make_site(tmp_path, 3)
    (out / "assets" / "copy.txt").write_text((out / "assets" / "f0.txt").read_text())  # same bytes, one upload
    progress: list[tuple[int, int]] = []
    d = firebase_provider(fake, tmp_path).deploy(snap(out), DeployTarget(), lambda f, b: progress.append((f, b)))
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert d.stats.files_uploaded == 3 and sorted(progress)[-1] == (2, 2 * len("file 0\n" * 3))
    assert sum(f for f, _ in progress) == 4 and sum(b for _, b in progress) == sum(p.stat().st_size for p in files)
    sent = {fake.blobs[h] for h in fake.uploaded}
    assert sent == {hashing.deterministic_gzip(p.read_bytes()) for p in files}
    assert d.stats.bytes_uploaded == sum(len(b) for b in sent)


def test_a_file_changed_after_hashing_is_not_uploaded(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 2)
    s = snap(out)
    (out / "index.html").write_text("edited during deploy")
    with pytest.raises(IntegrityError, match="index.html changed while deploying"):
        firebase_provider(fake, tmp_path).deploy(s, DeployTarget())
    assert not any(c.path.startswith("/upload/") and c.status == 200 and "index" in c.path for c in fake.calls)


def test_429_bursts_are_retried(tmp_path: Path, fake: FakeFirebase) -> None:
    out = make_site(tmp_path, 30)
    fake.bursts.update({"populate": 2, "upload": 5, "api": 1})
    sleeps: list[float] = []
    d = firebase_provider(fake, tmp_path, sleep=sleeps.append).deploy(snap(out), DeployTarget())
    assert d.state == "ready" and len(set(fake.uploaded)) == 30
    assert sum(1 for c in fake.calls if c.status == 429) == 8
    assert sleeps.count(0.0) >= 8  # Retry-After: 0 honoured


def test_env_vars_are_not_supported(tmp_path: Path, fake: FakeFirebase) -> None:
    provider = firebase_provider(fake, tmp_path)
    assert not isinstance(provider, EnvStore)
    with pytest.raises(NotSupported, match="firebase platform has no environment variables") as info:
        require(provider, EnvStore, "environment variables")
    assert "--platform" in (info.value.hint or "")


def test_link_finds_or_creates_the_site(tmp_path: Path, fake: FakeFirebase) -> None:
    found = firebase_provider(fake, tmp_path).link()
    assert found.extra["exists"] and not found.created and found.id == found.name
    missing = firebase_provider(fake, tmp_path, settings={"site": "brand-new-site", "project": "demo-project"})
    planned = missing.link(dry_run=True)
    assert (planned.id, planned.extra, planned.created, planned.dry_run) == (
        "brand-new-site", {"project": "demo-project", "exists": False}, False, True)
    assert "brand-new-site" not in fake.sites
    assert missing.link().created and "brand-new-site" in fake.sites


def test_fake_refuses_finalize_with_missing_uploads(tmp_path: Path, fake: FakeFirebase) -> None:
    provider = firebase_provider(fake, tmp_path)
    api = provider.api
    vid = api.create_version()["name"].rsplit("/", 1)[-1]
    answer = api.populate_files(vid, {"/a.txt": "a" * 64})
    assert answer["uploadRequiredHashes"] == ["a" * 64]
    from moai_adk.errors import ProviderError

    with pytest.raises(ProviderError, match="have not been uploaded"):
        api.finalize(vid, {})
    assert fake.sites["demo-site"].versions[vid]["status"] == "CREATED"
