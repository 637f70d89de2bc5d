"""LocalProvider against a real local platform."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from moai_adk.artifacts.snapshot import Snapshot, SnapshotFile, take_snapshot
from moai_adk.errors import AuthError, IntegrityError, NotFoundError, PlatformUnavailable, UnsafePathError
from moai_adk.platform.paths import CREDENTIALS_ENV
from moai_adk.providers import make_provider
from moai_adk.providers.base import DeployTarget, ProviderContext
from moai_adk.providers.capabilities import capabilities_of
from moai_adk.providers.local import LocalProvider, site_slug


def make_site(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


@pytest.fixture()
def provider(local_platform, tmp_path) -> LocalProvider:
    p = make_provider("local", local_platform.context(tmp_path))
    assert isinstance(p, LocalProvider)
    return p


def test_declares_its_protocol() -> None:
    assert LocalProvider.name == "local" and LocalProvider.hash_algorithms == ("sha256",)
    assert capabilities_of(LocalProvider) == ["env", "environments", "hosting", "traffic"]
    assert site_slug("My_Cool Site!") == "my-cool-site" and site_slug("___") == "site"


def test_deploy_never_touches_production_and_promote_does(provider, local_platform, tmp_path) -> None:
    tag = tmp_path.name
    v1 = provider.deploy(take_snapshot(make_site(tmp_path / "v1", {"index.html": f"v1 {tag}", "a.css": f"a{tag}"})),
                         DeployTarget(production=True, message="first"))
    port = local_platform.port
    assert v1.state == "ready"
    assert v1.url == f"http://{v1.id}.{provider.site}.localhost:{port}/"
    assert v1.production_url == f"http://{provider.site}.localhost:{port}/"
    assert v1.health_url == f"{local_platform.url}/_deploys/{v1.id}/"
    assert (v1.stats.files_total, v1.stats.files_uploaded) == (2, 2)
    assert v1.production is False
    assert httpx.get(v1.health_url).text == f"v1 {tag}"
    prod = f"{local_platform.url}/_sites/{provider.site}/"
    assert httpx.get(prod).status_code == 404
    assert provider.promote(v1.id).production is True
    assert httpx.get(prod).text == f"v1 {tag}"
    v2 = provider.deploy(take_snapshot(make_site(tmp_path / "v2", {"index.html": f"v2 {tag}", "a.css": f"a{tag}"})),
                         DeployTarget())
    assert v2.stats.files_uploaded == 1  # a.css is already stored
    assert httpx.get(prod).text == f"v1 {tag}"
    provider.promote(v2.id)
    listed = provider.list_deployments()
    assert [(d.id, d.production) for d in listed] == [(v2.id, True), (v1.id, False)]
    assert provider.get_deployment(v1.id).extra["meta"] == {"message": "first"}
    assert provider.rollback().id == v1.id
    assert httpx.get(prod).text == f"v1 {tag}"
    assert provider.rollback(v2.id).id == v2.id
    assert httpx.get(prod).text == f"v2 {tag}"


def test_progress_and_concurrency(local_platform, tmp_path) -> None:
    calls: list[tuple[int, int]] = []
    ctx = local_platform.context(tmp_path, concurrency=4)
    files = {f"f{i}.txt": f"{tmp_path.name} {i}" for i in range(30)}
    dep = LocalProvider(ctx).deploy(take_snapshot(make_site(tmp_path / "s", files)), DeployTarget(),
                                    lambda f, b: calls.append((f, b)))
    assert sum(f for f, _ in calls) == 30 and sum(b for _, b in calls) == dep.stats.bytes_uploaded
    assert dep.stats.bytes_uploaded == sum(len(t) for t in files.values())


def test_files_go_in_streamed_batches_and_very_large_ones_alone(local_platform, tmp_path) -> None:
    calls: list[int] = []
    ctx = local_platform.context(tmp_path)
    root = make_site(tmp_path / "s", {f"d/f{i}.txt": f"{tmp_path.name} small {i}" for i in range(2300)})
    mid = os.urandom(300 << 10)
    (root / "mid.bin").write_bytes(mid)
    big = os.urandom(17 << 20)
    (root / "big.bin").write_bytes(big)
    provider = LocalProvider(ctx)
    dep = provider.deploy(take_snapshot(root), DeployTarget(), lambda f, b: calls.append(f))
    assert dep.stats.files_uploaded == 2302 and sorted(calls) == [1, 301, 1000, 1000]
    assert provider.api.request_count < 12
    assert httpx.get(f"{dep.health_url}big.bin").content == big
    assert httpx.get(f"{dep.health_url}mid.bin").content == mid
    assert httpx.get(f"{dep.health_url}d/f2299.txt").text == f"{tmp_path.name} small 2299"


def test_changed_file_in_a_batch_is_named(provider, tmp_path) -> None:
    root = make_site(tmp_path / "s", {f"f{i}.txt": f"{tmp_path.name} {i}" for i in range(5)})
    snap = take_snapshot(root)
    (root / "f3.txt").write_text("X" * len(f"{tmp_path.name} 3"))  # same size, other bytes
    with pytest.raises(IntegrityError) as info:
        provider.deploy(snap, DeployTarget())
    assert "f3.txt" in info.value.message and "do not hash" in info.value.message


def test_unsafe_path_from_platform(provider, tmp_path) -> None:
    good = tmp_path / "ok.html"
    good.write_text("ok")
    bad = SnapshotFile(path="../escape.html", abspath=str(good), size=2, mode=0o644, mtime_ns=0, ino=0)
    bad.hashes = {"sha256": "0" * 64}
    snap = Snapshot(root=tmp_path, files=[bad], algorithms=("sha256",))
    with pytest.raises(UnsafePathError) as info:
        provider.deploy(snap, DeployTarget())
    assert "../escape.html" in info.value.message and "'..'" in info.value.message


def test_changed_file_is_an_integrity_error(provider, tmp_path) -> None:
    root = make_site(tmp_path / "s", {"index.html": f"original {tmp_path.name}"})
    snap = take_snapshot(root)
    (root / "index.html").write_text("changed after hashing")
    with pytest.raises(IntegrityError) as info:
        provider.deploy(snap, DeployTarget())
    assert "index.html" in info.value.message and info.value.hint


def test_wrong_token_names_env_and_credentials(local_platform, tmp_path) -> None:
    ctx = local_platform.context(tmp_path, environ=local_platform.environ(MOAI_PLATFORM_TOKEN="moai_nope"))
    with pytest.raises(AuthError) as info:
        LocalProvider(ctx).list_deployments()
    assert "MOAI_PLATFORM_TOKEN" in info.value.message + (info.value.hint or "")
    assert "platform.json" in (info.value.hint or "")
    no_token = {"MOAI_PLATFORM_URL": local_platform.url, CREDENTIALS_ENV: str(tmp_path / "none.json")}
    with pytest.raises(AuthError):
        LocalProvider(local_platform.context(tmp_path, environ=no_token)).link()


def test_credentials_file_is_found_without_env(local_platform, tmp_path) -> None:
    creds = json.loads(local_platform.credentials.read_text())
    assert creds["url"] == local_platform.url
    ctx = local_platform.context(tmp_path, environ={CREDENTIALS_ENV: str(local_platform.credentials)})
    provider = LocalProvider(ctx)
    assert provider.url == local_platform.url and provider.token == creds["token"]
    assert provider.link().created is True


def test_platform_not_running(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = ProviderContext(root=tmp_path, environ={"MOAI_PLATFORM_URL": f"http://127.0.0.1:{port}",
                                                  "MOAI_PLATFORM_TOKEN": "x"}, sleep=lambda _: None)
    with pytest.raises(PlatformUnavailable) as info:
        LocalProvider(ctx).deploy(take_snapshot(make_site(tmp_path / "s", {"a.html": "a"})), DeployTarget())
    assert info.value.message == f"no local platform at http://127.0.0.1:{port}"
    assert "moai-adk platform serve" in (info.value.hint or "")


def test_env_and_traffic(provider, local_platform, tmp_path) -> None:
    provider.env_set("production", "PUBLIC_URL", "https://x")
    secret = provider.env_set("production", "API_KEY", "hunter2", secret=True)
    assert secret.value is None and secret.secret
    listed = {v.key: v for v in provider.env_list("production")}
    assert listed["PUBLIC_URL"].value == "https://x" and listed["API_KEY"].value is None
    provider.env_unset("production", "API_KEY")
    assert [v.key for v in provider.env_list("production")] == ["PUBLIC_URL"]
    with pytest.raises(NotFoundError):
        provider.env_unset("production", "API_KEY")
    a = provider.deploy(take_snapshot(make_site(tmp_path / "a", {"index.html": "A"})), DeployTarget())
    b = provider.deploy(take_snapshot(make_site(tmp_path / "b", {"index.html": "B"})), DeployTarget())
    provider.promote(a.id)
    provider.set_traffic({a.id: 50, b.id: 50})
    url = f"{local_platform.url}/_sites/{provider.site}/"
    assert {httpx.get(url, headers={"cookie": f"moai_bucket={n}"}).text for n in (0, 99)} == {"A", "B"}


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from moai_adk.artifacts.snapshot import take_snapshot
    from moai_adk.providers.base import DeployTarget, ProviderContext
    from moai_adk.providers.local import LocalProvider
    done = []
    def progress(files, size):
        done.append(files)
        if sum(done) >= int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)
    env = {"MOAI_PLATFORM_URL": sys.argv[1], "MOAI_PLATFORM_TOKEN": sys.argv[2]}
    ctx = ProviderContext(root=Path(sys.argv[4]), settings={"site": sys.argv[5]}, environ=env,
                          concurrency=1)
    LocalProvider(ctx).deploy(take_snapshot(Path(sys.argv[4])), DeployTarget(), progress)
""")


def test_killed_deploy_keeps_production_and_resumes(local_platform, tmp_path) -> None:
    site = local_platform.new_site("killed")
    local_platform.deploy(site, {"index.html": b"previous production"})
    root = make_site(tmp_path / "s", {f"p{i:04d}.html": f"{tmp_path.name} page {i}" for i in range(1250)})
    (root / "index.html").write_text(f"new {tmp_path.name}")
    proc = subprocess.run([sys.executable, "-c", KILLER, local_platform.url, local_platform.token, "1000",
                           str(root), site], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    prod = f"{local_platform.url}/_sites/{site}/"
    assert httpx.get(prod).text == "previous production"
    ctx = local_platform.context(tmp_path, site=site)
    again = LocalProvider(ctx).deploy(take_snapshot(root), DeployTarget())
    assert again.stats.files_uploaded == 1251 - 1000  # the first batch of 1,000 arrived before the kill
    assert httpx.get(prod).text == "previous production"
    LocalProvider(ctx).promote(again.id)
    assert httpx.get(prod).text == f"new {tmp_path.name}"
    assert not any((local_platform.data_dir / "blobs" / ".tmp").iterdir())


def test_blob_uploads_run_on_the_shared_upload_engine() -> None:
    from moai_adk.providers._local_upload import BlobUploader as _BlobUploader
    from moai_adk.providers._upload import Uploader

    assert issubclass(_BlobUploader, Uploader) and _BlobUploader.transfer is not Uploader.transfer


class Recording(httpx.HTTPTransport):
    """A real HTTP transport that keeps the JSON bodies of the deploys it creates."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[dict[str, object]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/deploys"):
            self.created.append(json.loads(request.read()))
        return super().handle_request(request)


def test_a_redeploy_sends_a_delta_against_the_last_deploy(local_platform, tmp_path) -> None:
    files = {f"d{i % 7}/page{i}.html": f"{tmp_path.name} page {i}" for i in range(300)}
    root = make_site(tmp_path / "s", {**files, "gone.txt": "removed next time"})
    transport = Recording()
    ctx = local_platform.context(tmp_path, transport=transport)
    provider = LocalProvider(ctx)
    first = provider.deploy(take_snapshot(root), DeployTarget())
    assert set(transport.created[0]) >= {"files"} and "parent" not in transport.created[0]
    (root / "d3/page3.html").write_text("changed")
    (root / "gone.txt").unlink()
    (root / "new.txt").write_text("added")
    second = provider.deploy(take_snapshot(root), DeployTarget())
    delta = transport.created[1]
    assert "files" not in delta and delta["parent"] == first.id and delta["file_count"] == 301
    assert sorted(delta["changes"]) == ["d3/page3.html", "new.txt"] and delta["removed"] == ["gone.txt"]
    assert second.stats.files_uploaded == 2
    url = second.health_url
    assert httpx.get(f"{url}d3/page3.html").text == "changed" and httpx.get(f"{url}new.txt").text == "added"
    assert httpx.get(f"{url}d5/page5.html").text == f"{tmp_path.name} page 5"
    assert httpx.get(f"{url}gone.txt").status_code == 404
    assert provider.get_deployment(second.id).extra["file_count"] == 301
    third = provider.deploy(take_snapshot(root), DeployTarget())  # nothing changed: an empty delta
    assert transport.created[2]["changes"] == {} and third.stats.files_uploaded == 0
    assert httpx.get(f"{third.health_url}new.txt").text == "added"


def test_a_delta_the_platform_cannot_use_falls_back_to_the_full_manifest(local_platform, tmp_path) -> None:
    root = make_site(tmp_path / "s", {f"p{i}.html": f"{tmp_path.name} {i}" for i in range(20)})
    transport = Recording()
    provider = LocalProvider(local_platform.context(tmp_path, transport=transport))
    provider.deploy(take_snapshot(root), DeployTarget())
    state = tmp_path / ".moai" / "cache" / "local-deploys.bin"
    import marshal

    saved = marshal.loads(state.read_bytes())
    key = next(iter(saved))
    saved[key] = ("zzzzzzzzzz", saved[key][1])  # a deploy this platform never had (a reset platform)
    state.write_bytes(marshal.dumps(saved))
    (root / "p1.html").write_text("changed")
    again = provider.deploy(take_snapshot(root), DeployTarget())
    assert [("parent" in b, "files" in b) for b in transport.created] == [(False, True), (True, False), (False, True)]
    assert httpx.get(f"{again.health_url}p1.html").text == "changed"
    assert marshal.loads(state.read_bytes())[key][0] == again.id


class CountingSites(Recording):
    def __init__(self) -> None:
        super().__init__()
        self.site_posts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/sites"):
            self.site_posts += 1
        return super().handle_request(request)


@pytest.mark.parametrize("changed", [1, 15])  # a delta, and a full manifest (over half the files changed)
def test_a_redeploy_skips_the_site_request_and_recreates_a_site_the_platform_lost(local_platform, tmp_path,
                                                                                   changed: int) -> None:
    import marshal

    root = make_site(tmp_path / "s", {f"p{i}.html": f"{tmp_path.name} {i}" for i in range(20)})
    transport = CountingSites()
    provider = LocalProvider(local_platform.context(tmp_path, transport=transport))
    provider.deploy(take_snapshot(root), DeployTarget())
    assert transport.site_posts == 1
    (root / "p0.html").write_text("again")
    provider.deploy(take_snapshot(root), DeployTarget())
    assert transport.site_posts == 1  # the site is known from the last deploy: no request for it
    # the platform lost the site (reset): the state file remembers a deploy of a site it has never seen
    state = tmp_path / ".moai" / "cache" / "local-deploys.bin"
    saved = marshal.loads(state.read_bytes())
    other = LocalProvider(local_platform.context(tmp_path, transport=transport, site=f"lost-{changed}-{tmp_path.name[-8:]}".lower().replace("_", "-")))
    saved[other._state_key()] = next(iter(saved.values()))
    state.write_bytes(marshal.dumps(saved))
    for i in range(changed):
        (root / f"p{i}.html").write_text(f"changed {i}")
    again = other.deploy(take_snapshot(root), DeployTarget())
    assert transport.site_posts == 2
    assert httpx.get(f"{again.health_url}p0.html").text == "changed 0"
