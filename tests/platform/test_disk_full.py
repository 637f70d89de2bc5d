"""A full disk answers 507 JSON (upload, batch, finalize, env set), keeps nothing half-written,
and the CLI shows the platform's message. The platform's data folder is on a small tmpfs this
test mounts (the tests run as root; see scripts/test), on both servers."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import RunningPlatform, start_platform
from tests.platform.conftest import start_granian

API = "/_api/v1"


@contextmanager
def tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    assert os.geteuid() == 0, "these tests mount a tmpfs: run them as root (scripts/test does in CI)"
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def local_platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    mount = tmp_path_factory.mktemp(f"full-{request.param}") / "mnt"
    starter = start_granian if request.param == "granian" else start_platform
    with tmpfs(mount, 48), starter(mount) as running:
        yield running


@contextmanager
def disk_full(running: RunningPlatform, leave: int = 0) -> Iterator[None]:
    """Fill the platform's filesystem (but ``leave`` bytes) until the block exits."""
    filler = running.data_dir.parent / "filler"
    st = os.statvfs(running.data_dir)
    room = st.f_bavail * st.f_frsize - leave
    with open(filler, "wb") as fh:
        try:
            while room > 0:
                room -= fh.write(b"\0" * min(room, 1 << 20))
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    try:
        yield
    finally:
        filler.unlink()


def no_space(r: object) -> dict[str, str]:
    assert r.status_code == 507, r.text  # type: ignore[attr-defined]
    err = r.json()["error"]  # type: ignore[attr-defined]
    assert err["code"] == "no_space" and "space" in err["message"]
    return dict(err)


def temp_files(running: RunningPlatform) -> list[Path]:
    return list((running.data_dir / "blobs" / ".tmp").iterdir())


def test_a_blob_upload_on_a_full_disk_is_507_and_keeps_nothing(local_platform: RunningPlatform) -> None:
    data = os.urandom(3 << 20)
    digest = hashlib.sha256(data).hexdigest()
    with local_platform.client() as c:
        with disk_full(local_platform, leave=1 << 20):
            no_space(c.put(f"{API}/blobs/{digest}", content=data))
            assert not local_platform.platform.store.exists(digest) and temp_files(local_platform) == []
            chunks = iter([data[: 1 << 20], data[1 << 20:]])  # chunked, too
            no_space(c.put(f"{API}/blobs/{digest}", content=chunks))
            assert temp_files(local_platform) == []
        assert c.put(f"{API}/blobs/{digest}", content=data).status_code == 201


def test_a_batch_on_a_full_disk_is_507(local_platform: RunningPlatform) -> None:
    blobs = [os.urandom(700_000) for _ in range(4)]
    body = json.dumps([[hashlib.sha256(b).hexdigest(), len(b)] for b in blobs]).encode() + b"\n" + b"".join(blobs)
    with local_platform.client() as c:
        with disk_full(local_platform, leave=1 << 20):
            no_space(c.post(f"{API}/blobs", content=body))
            assert temp_files(local_platform) == []
        # blobs received whole before the disk filled are kept (verified, content-addressed)
        assert c.post(f"{API}/blobs", content=body).json()["stored"] == 4
        assert all(local_platform.platform.store.exists(hashlib.sha256(b).hexdigest()) for b in blobs)


def test_finalize_on_a_full_disk_is_507_then_succeeds(local_platform: RunningPlatform) -> None:
    pages = {f"p{i}.html": (f"<h1>{i}</h1>" + "text that compresses well " * 40_000).encode() for i in range(4)}
    site = local_platform.new_site("full")
    with local_platform.client() as c:
        c.post(f"{API}/sites", json={"name": site})
        created = c.post(f"{API}/sites/{site}/deploys",
                         json={"files": {p: hashlib.sha256(b).hexdigest() for p, b in pages.items()}}).json()
        for data in pages.values():
            assert c.put(f"{API}/blobs/{hashlib.sha256(data).hexdigest()}", content=data).status_code == 201
        with disk_full(local_platform):
            no_space(c.post(f"{API}/deploys/{created['id']}/finalize"))
        assert c.get(f"{API}/deploys/{created['id']}").json()["state"] == "uploading"
        r = c.post(f"{API}/deploys/{created['id']}/finalize")
        assert r.status_code == 200 and r.json()["state"] == "ready"


def test_env_set_on_a_full_disk_is_507(local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("fullenv")
    with local_platform.client() as c:
        c.post(f"{API}/sites", json={"name": site})
        with disk_full(local_platform):
            no_space(c.put(f"{API}/sites/{site}/env/production/BIG", json={"value": "v" * (4 << 20)}))
        assert c.get(f"{API}/sites/{site}/env/production").json()["vars"] == []
        assert c.put(f"{API}/sites/{site}/env/production/BIG", json={"value": "v"}).status_code == 200


def test_the_cli_shows_the_platforms_message(local_platform: RunningPlatform, tmp_path: Path) -> None:
    site = local_platform.new_site("clifull")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "moai.toml").write_text(f'[project]\nname = "{site}"\n[deploy]\nplatform = "local"\n')
    env = {**os.environ, **local_platform.environ()}
    with disk_full(local_platform):
        r = subprocess.run([sys.executable, "-m", "moai_adk", "env", "set", "BIG", "-", "--env", "production"],
                           input="v" * (4 << 20), cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "507 no_space" in r.stderr and "no space left" in r.stderr, r.stderr
    assert "Free disk space" in r.stderr and "Traceback" not in r.stderr
