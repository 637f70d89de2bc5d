"""Vercel archive deploys (`vercel deploy --archive=tgz`) against the fake, which joins the
uploaded parts, unpacks them and checks what is inside; when the archive is chosen, what it
holds, that it is deterministic, and what happens on bad input."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import shutil
import tarfile
from pathlib import Path

import httpx
import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import LimitError, PlatformUnavailable, UsageError
from moai_adk.providers.base import DeployTarget, Limits
from moai_adk.providers.vercel import VercelProvider, _archive, _deploy
from moai_adk.providers.vercel._archive import CACHE_DIR
from tests.fakes.vercel import FakeVercel, serve_file

from .conftest import Harness, vercel_context, write_site

ARCHIVE = DeployTarget(environment="preview", archive="tgz")
PREVIEW = DeployTarget(environment="preview")
LONG = "docs/" + "/".join(["section-with-a-long-name"] * 5) + "/page.html"  # over ustar's 100-byte name field
HUGE = "n" * 120 + ".html"  # no '/' to split at: only a pax header holds it


def linked(h: Harness, **kw: object) -> VercelProvider:
    p = h.provider(**kw)
    assert isinstance(p, VercelProvider)
    p.link()
    return p


def uploads(fake: FakeVercel, since: int = 0) -> list[str]:
    """The digests of the successful /v2/files requests after request number ``since``."""
    return [r.headers["x-vercel-digest"] for r in fake.requests[since:] if r.path == "/v2/files" and r.status == 200]


def creates(fake: FakeVercel, since: int = 0) -> list[dict[str, object]]:
    return [r.json() for r in fake.requests[since:] if r.method == "POST" and r.path == "/v13/deployments"]


def site(h: Harness) -> Path:
    out = write_site(h.root / "dist", {"index.html": "<h1>home</h1>", "b/app.js": "console.log(1)",
                                       "a/z.css": "body{}", "caf\u00e9/menu.html": "<p>menu</p>", LONG: "<p>deep</p>",
                                       HUGE: "<p>long</p>"})
    os.chmod(out / "b" / "app.js", 0o755)
    return out


def test_archive_deploy_sends_what_the_vercel_client_sends(vercel: Harness, vercel_fake: FakeVercel) -> None:
    (vercel.root / "vercel.json").write_text('{"cleanUrls": true}')
    p = linked(vercel)
    out = site(vercel)
    d = p.deploy(take_snapshot(out, p.hash_algorithms, limits=p.limits), ARCHIVE)
    assert d.state == "ready" and d.extra["upload"]["mode"] == "tgz"
    assert d.extra["upload_note"].startswith("Upload mode: archive (tgz, 1 part") and "--archive" in d.extra["upload_note"]
    assert d.stats.files_total == 7 and d.stats.files_uploaded == 1  # one request: the archive

    first, body = creates(vercel_fake)  # the part was new: missing_files, upload, the same create again
    assert first == body
    files = body["files"]
    assert isinstance(files, list) and [f["file"] for f in files] == [".vercel/source.tgz.part1"]
    assert files[0]["mode"] == 0o666
    [upload] = [r for r in vercel_fake.requests if r.path == "/v2/files"]
    assert upload.headers["x-vercel-digest"] == files[0]["sha"] == hashlib.sha1(upload.body).hexdigest()
    assert upload.headers["content-length"] == str(files[0]["size"]) == str(len(upload.body))
    assert upload.headers["content-type"] == "application/octet-stream"

    # gzip with no timestamp and no file name, written on Unix; a tar of regular files in path order
    archive = vercel_fake.archives[-1]
    assert archive["gzip_header"] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    members = archive["members"]
    names = [m["name"] for m in members]
    assert names == sorted(["index.html", "b/app.js", "a/z.css", "caf\u00e9/menu.html", LONG, HUGE, "vercel.json"])
    assert {(m["mtime"], m["uid"], m["gid"], m["uname"], m["gname"]) for m in members} == {(0, 0, 0, "", "")}
    modes = {m["name"]: m["mode"] for m in members}
    assert modes["b/app.js"] == 0o755 and modes["index.html"] == 0o644 and modes["vercel.json"] == 0o644

    dep = vercel_fake.deployments[d.id]
    assert serve_file(dep["files"], vercel_fake.blobs, f"/{LONG}").text == "<p>deep</p>"
    assert serve_file(dep["files"], vercel_fake.blobs, f"/{HUGE}").text == "<p>long</p>"
    assert serve_file(dep["files"], vercel_fake.blobs, "/vercel.json").text == '{"cleanUrls": true}'
    assert not list((vercel.root / CACHE_DIR).glob("source.tgz.part*"))  # sent: the chunk files are gone


def test_unchanged_output_uploads_nothing_even_without_the_local_cache(vercel: Harness,
                                                                        vercel_fake: FakeVercel) -> None:
    p = linked(vercel, settings={"archive": "tgz"})
    out = site(vercel)
    p.deploy(take_snapshot(out, p.hash_algorithms, limits=p.limits), PREVIEW)
    first = creates(vercel_fake)[-1]["files"]

    mark = len(vercel_fake.requests)
    again = p.deploy(take_snapshot(out, p.hash_algorithms, limits=p.limits), PREVIEW)
    assert uploads(vercel_fake, mark) == [] and again.stats.files_uploaded == 0
    assert [c["files"] for c in creates(vercel_fake, mark)] == [first]  # one create call, answered at once
    assert "[platforms.vercel] archive" in again.extra["upload_note"]

    shutil.rmtree(vercel.root / ".moai")  # a fresh checkout in CI: the same bytes, so the same digests
    mark = len(vercel_fake.requests)
    p.deploy(take_snapshot(out, p.hash_algorithms, limits=p.limits), PREVIEW)
    assert uploads(vercel_fake, mark) == [] and [c["files"] for c in creates(vercel_fake, mark)] == [first]

    (out / "index.html").write_text("<h1>changed</h1>")
    mark = len(vercel_fake.requests)
    changed = p.deploy(take_snapshot(out, p.hash_algorithms, limits=p.limits), PREVIEW)
    assert len(uploads(vercel_fake, mark)) == 1 and changed.stats.files_uploaded == 1
    assert serve_file(vercel_fake.deployments[changed.id]["files"], vercel_fake.blobs, "/").text == "<h1>changed</h1>"
    assert len(vercel_fake.deployments) == 4


def many(out: Path, n: int) -> Path:
    """``n`` files with one content (one upload in file mode) and distinct names."""
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (out / f"f{i:05d}.txt").write_bytes(b"same")
    return out


def test_over_15000_files_counting_vercel_json_go_as_an_archive(vercel: Harness, vercel_fake: FakeVercel) -> None:
    (vercel.root / "vercel.json").write_text("{}")
    p = linked(vercel)
    out = many(vercel.root / "dist", 15_000)
    snap = take_snapshot(out, p.hash_algorithms, limits=p.limits, platform="vercel")  # no file count here
    d = p.deploy(snap, PREVIEW)
    assert d.extra["upload"]["mode"] == "tgz" and d.stats.files_total == 15_001
    assert "15,001 files is over Vercel's 15,000-file limit" in d.extra["upload_note"]
    # no file-by-file attempt first (the API would refuse 15,001 entries): the archive's create, twice
    assert [len(c["files"]) for c in creates(vercel_fake)] == [1, 1]  # type: ignore[arg-type]
    assert len(vercel_fake.deployments[d.id]["files"]) == 15_001

    os.unlink(out / "f00000.txt")  # 14,999 files + vercel.json: exactly the limit, file by file
    mark = len(vercel_fake.requests)
    d = p.deploy(take_snapshot(out, p.hash_algorithms, limits=p.limits), PREVIEW)
    assert d.extra["upload"]["mode"] == "files" and d.stats.files_total == 15_000
    assert len(creates(vercel_fake, mark)[-1]["files"]) == 15_000  # type: ignore[arg-type]


def test_archive_off_over_the_limit_is_refused_before_any_request(vercel: Harness, vercel_fake: FakeVercel) -> None:
    (vercel.root / "vercel.json").write_text("{}")
    p = linked(vercel, settings={"archive": "off"})
    out = many(vercel.root / "dist", 15_000)
    with pytest.raises(LimitError) as err:  # one check, on what would be sent: 15,000 files + vercel.json
        p.deploy(take_snapshot(out, p.hash_algorithms, limits=Limits()), PREVIEW)
    assert "15,001 files" in err.value.message and "15,000" in err.value.message
    assert 'archive = "off"' in err.value.message and "--archive" in (err.value.hint or "")
    assert not [r for r in vercel_fake.requests if r.path in ("/v2/files", "/v13/deployments")]
    assert VercelProvider.limits.max_files is None  # the snapshot does not count: the provider chooses the mode


def test_the_fake_refuses_more_than_15000_files(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    body = {"name": "site", "project": p.linked().project_id,
            "files": [{"file": f"f{i}", "sha": "0" * 40, "size": 1} for i in range(15_001)]}
    response = httpx.Client(transport=vercel_fake.transport()).post(
        "https://api.vercel.test/v13/deployments", json=body, headers={"Authorization": "Bearer test-token"})
    assert response.status_code == 400 and "15000 items" in response.json()["error"]["message"]
    assert not vercel_fake.deployments


def test_missing_files_over_the_request_budget_switch_to_the_archive(vercel: Harness,
                                                                     vercel_fake: FakeVercel) -> None:
    files: dict[str, str | bytes] = {f"p{i}.html": f"<p>{i}</p>" for i in range(5)}
    p = linked(vercel, settings={"max_upload_requests": 3})
    d = p.deploy(vercel.snapshot(files, p), PREVIEW)
    assert d.extra["upload"]["mode"] == "tgz" and "5 missing files" in d.extra["upload_note"]
    assert "budget of 3 upload requests" in d.extra["upload_note"]
    assert len(uploads(vercel_fake)) == 1 and len(vercel_fake.deployments) == 1
    first, *rest = creates(vercel_fake)
    assert len(first["files"]) == 5 and all(len(c["files"]) == 1 for c in rest)  # type: ignore[arg-type]

    p = linked(vercel, settings={"max_upload_requests": 5})
    mark = len(vercel_fake.requests)
    d = p.deploy(vercel.snapshot({**files, "new.html": "n"}, p), PREVIEW)  # 6 files, 1 missing: file by file
    assert d.extra["upload"]["mode"] == "files" and len(uploads(vercel_fake, mark)) == 1
    assert "1 missing, 1 sent" in d.extra["upload_note"]


def test_archive_over_the_size_limit_is_refused_before_upload(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel, settings={"archive": "tgz", "max_archive_size": 1_000})
    noise = random.Random(3).randbytes(5_000)
    with pytest.raises(LimitError) as err:
        p.deploy(vercel.snapshot({"index.html": "x", "noise.bin": noise}, p), PREVIEW)
    assert "at most 1,000 bytes" in err.value.message and "Nothing was uploaded" in err.value.message
    assert "max_archive_size" in (err.value.hint or "")
    assert not [r for r in vercel_fake.requests if r.path in ("/v2/files", "/v13/deployments")]


class Outage(httpx.BaseTransport):
    """The fake behind a network that breaks the second archive part's upload half-way, while ``down``."""

    def __init__(self, fake: FakeVercel) -> None:
        self.inner, self.down, self.broken = fake.transport(), True, 0
        self.seen: list[str] = []
        self.victim: str | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.path == "/v2/files":
            digest = request.headers["x-vercel-digest"]
            if digest not in self.seen:
                self.seen.append(digest)
            self.victim = self.seen[1] if len(self.seen) > 1 else None
            if digest == self.victim:
                stream = request.stream
                assert isinstance(stream, httpx.SyncByteStream)
                next(iter(stream))  # part of the body went out
                self.broken += 1
                raise httpx.WriteError("connection reset by peer")
        return self.inner.handle_request(request)


@pytest.mark.parametrize("keep_cache", [True, False])
def test_an_interrupted_upload_resumes_on_the_next_run(vercel: Harness, vercel_fake: FakeVercel,
                                                       keep_cache: bool) -> None:
    settings = {"archive": "tgz", "max_file_size": 20_000}  # parts of at most 20,000 bytes: several parts
    noise = random.Random(7)
    files: dict[str, str | bytes] = {f"img{i}.bin": noise.randbytes(9_000) for i in range(8)}
    p = linked(vercel, settings=settings)
    outage = Outage(vercel_fake)
    p.ctx.transport = outage
    p.close()  # the next request opens a client on the outage transport
    snap = vercel.snapshot(files, p)
    with pytest.raises(PlatformUnavailable):
        p.deploy(snap, PREVIEW)
    assert outage.broken > 1 and not vercel_fake.deployments  # retried, then gave up; no deployment
    parts = creates(vercel_fake)[-1]["files"]
    assert isinstance(parts, list) and len(parts) >= 4
    before = uploads(vercel_fake)
    assert outage.victim not in before and len(before) == len(parts) - 1  # every other part arrived

    if not keep_cache:
        shutil.rmtree(vercel.root / ".moai")  # restart from nothing: the rebuilt parts are the same
    outage.down = False
    mark = len(vercel_fake.requests)
    d = p.deploy(snap, PREVIEW)
    assert uploads(vercel_fake, mark) == [outage.victim]  # only the part Vercel lacked
    assert creates(vercel_fake, mark)[-1]["files"] == parts
    assert len(vercel_fake.deployments) == 1 and d.state == "ready"
    assert serve_file(vercel_fake.deployments[d.id]["files"], vercel_fake.blobs, "/img3.bin").content == files["img3.bin"]


def test_a_file_swapped_for_a_link_or_fifo_after_the_snapshot_stops_the_archive(
        vercel: Harness, vercel_fake: FakeVercel, tmp_path: Path) -> None:
    p = linked(vercel, settings={"archive": "tgz"})
    snap = vercel.snapshot({"index.html": "<h1>hi</h1>", "a.js": "1"}, p)
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the web")
    os.unlink(snap.root / "a.js")
    os.symlink(outside, snap.root / "a.js")
    with pytest.raises(Exception, match="changed while deploying"):
        p.deploy(snap, PREVIEW)
    os.unlink(snap.root / "a.js")
    os.mkfifo(snap.root / "a.js")  # opening it must not block, and it is refused
    with pytest.raises(Exception, match="changed while deploying"):
        p.deploy(snap, PREVIEW)
    assert not [r for r in vercel_fake.requests if r.path in ("/v2/files", "/v13/deployments")]


def test_an_unknown_archive_format_is_a_usage_error(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    with pytest.raises(UsageError) as err:
        p.deploy(vercel.snapshot({"index.html": "x"}, p), DeployTarget(archive="zip"))
    assert "'zip'" in err.value.message and "tgz" in err.value.message
    split = p.deploy(vercel.snapshot({"index.html": "x"}, p), DeployTarget(archive="split-tgz"))
    assert split.extra["upload"]["mode"] == "tgz"  # the Vercel CLI's old name for the same


def test_no_poll_when_the_create_answer_is_already_ready(vercel: Harness) -> None:
    fake = FakeVercel(build_steps=0, alias_steps=0)  # the create call answers READY with aliases assigned
    p = VercelProvider(vercel_context(vercel.root, fake, vercel.sleeps))
    p.link()
    for _ in range(2):
        mark = len(fake.requests)
        d = p.deploy(vercel.snapshot({"index.html": "x"}, p), PREVIEW)
        assert d.state == "ready"
        assert not [r for r in fake.requests[mark:] if r.method == "GET" and r.path == f"/v13/deployments/{d.id}"]
    p.close()


def test_the_archive_does_not_depend_on_the_number_of_threads(tmp_path: Path) -> None:
    out = write_site(tmp_path / "dist", {f"f{i:03d}.txt": (f"line {i}\n" * (i * 97)) for i in range(300)})
    out.joinpath("big.bin").write_bytes(random.Random(1).randbytes(3_500_000))  # spans several 1 MiB blocks
    snap = take_snapshot(out, ("sha1",))
    entries = _deploy.build_manifest(snap, tmp_path, Limits()).entries
    one = _archive.build(entries, tmp_path / "a", 1_000_000, workers=1)
    four = _archive.build(entries, tmp_path / "b", 1_000_000, workers=4)
    assert one.parts == four.parts and len(one.parts) >= 4
    joined = b"".join(one.path(p).read_bytes() for p in one.parts)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(joined))) as tar:
        assert tar.getnames() == sorted(f.path for f in snap.files)
        big = tar.extractfile("big.bin")
        assert big is not None and big.read() == (out / "big.bin").read_bytes()
