"""`moai-adk deploy --archive` through the real CLI against the Vercel fake on a loopback port:
the flag, the line that says which upload mode was used, and bad input refused the same way
in both modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.vercel import FakeVercel


def moai(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "XDG_CONFIG_HOME": str(cwd / ".xdg-config"), "XDG_DATA_HOME": str(cwd / ".xdg-data"), **env}
    return subprocess.run([sys.executable, "-m", "moai_adk", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)


def project(root: Path, extra_toml: str = "") -> Path:
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "index.html").write_text("<h1>hi</h1>")
    (root / "dist" / "app.js").write_text("console.log(1)")
    (root / "moai.toml").write_text('[project]\nname = "shop"\n\n[build]\noutput = "dist"\n\n'
                                    f'[deploy]\nplatform = "vercel"\n{extra_toml}')
    return root


def test_archive_flag_and_the_mode_line(tmp_path: Path) -> None:
    fake = FakeVercel(build_steps=0, alias_steps=0)
    root = project(tmp_path / "proj")
    with fake.serve() as url:
        env = {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": url}
        r = moai("deploy", "--archive", "--no-health-check", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert "2 files sent as one archive" in r.stdout
        assert "Upload mode: archive (tgz, 1 part" in r.stdout and "asked for by --archive" in r.stdout
        assert [r.headers["x-vercel-digest"] for r in fake.requests if r.path == "/v2/files"]  # the archive went up

        r = moai("deploy", "--archive=split-tgz", "--no-health-check", "--json", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["files_uploaded"] == 0  # the same archive: nothing to send
        assert any(n.startswith("Upload mode: archive (tgz") for n in out["notices"])

        (root / "dist" / "index.html").write_text("<h1>v2</h1>")
        r = moai("deploy", "--no-health-check", cwd=root, env=env)  # automatic: one changed file goes by itself
        assert r.returncode == 0, r.stderr
        assert "1 of 2 files uploaded" in r.stdout and "Upload mode: file by file (2 files, 1 missing, 1 sent)" in r.stdout

        r = moai("deploy", "--archive=zip", cwd=root, env=env)
        assert r.returncode == 2 and "'zip' is not one of" in r.stderr


def test_archive_setting_in_moai_toml(tmp_path: Path) -> None:
    fake = FakeVercel(build_steps=0, alias_steps=0)
    root = project(tmp_path / "proj", '\n[platforms.vercel]\narchive = "tgz"\n')
    with fake.serve() as url:
        env = {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": url}
        r = moai("deploy", "--no-health-check", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert 'asked for by [platforms.vercel] archive = "tgz"' in r.stdout
        r = moai("deploy", "--archive=off", "--no-health-check", cwd=root, env=env)  # the flag wins
        assert r.returncode == 0, r.stderr
        assert "archive uploads turned off by --archive" in r.stdout


@pytest.mark.parametrize("flag", [[], ["--archive"]])
def test_a_link_out_of_the_output_is_refused_the_same_in_both_modes(tmp_path: Path, flag: list[str]) -> None:
    fake = FakeVercel(build_steps=0)
    root = project(tmp_path / "proj")
    (tmp_path / "secret.txt").write_text("not for the web")
    os.symlink(tmp_path / "secret.txt", root / "dist" / "leak.txt")
    os.mkfifo(root / "dist" / "pipe")  # a special file: never published, in either mode
    with fake.serve() as url:
        r = moai("deploy", *flag, "--no-health-check", cwd=root,
                 env={"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": url})
    assert r.returncode == 1
    assert "leak.txt is a symlink pointing outside the output folder" in r.stderr
    assert not [q for q in fake.requests if q.path in ("/v2/files", "/v13/deployments")]
