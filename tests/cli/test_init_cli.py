"""`moai-adk init` through the real entry point (subprocess) and click's CliRunner."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from moai_adk.cli.main import cli
from moai_adk.config import load_config


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with stdin not a terminal (as in CI): it must ask nothing."""
    return subprocess.run([sys.executable, "-m", "moai_adk", *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def site(root: Path) -> Path:
    (root / "index.html").write_text("<h1>hi</h1>")
    return root


def test_init_non_interactive_writes_files_and_exits_0(tmp_path: Path) -> None:
    site(tmp_path)
    r = run(tmp_path, "init", "--baas", "vercel", "--baas", "supabase")
    assert r.returncode == 0, r.stderr
    assert "moai.toml" in r.stdout and "created" in r.stdout
    assert "Detected: Plain static site (index.html)" in r.stderr
    cfg = load_config(tmp_path / "moai.toml")
    assert cfg.platform == "vercel" and cfg.platforms == ["vercel", "supabase"]
    assert (tmp_path / "vercel.json").is_file() and (tmp_path / "supabase" / "config.toml").is_file()


def test_json_output_lists_each_file_action(tmp_path: Path) -> None:
    site(tmp_path)
    r = run(tmp_path, "init", "--baas", "netlify", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["platform"] == "netlify" and data["dry_run"] is False
    assert {f["path"]: f["action"] for f in data["files"]} == {
        "moai.toml": "created", ".moai/moai.schema.json": "created", "netlify.toml": "created",
        ".gitignore": "created"}
    again = json.loads(run(tmp_path, "init", "--json").stdout)
    assert {f["action"] for f in again["files"]} == {"kept"}


def test_dry_run_json_includes_contents_and_writes_nothing(tmp_path: Path) -> None:
    site(tmp_path)
    r = run(tmp_path, "init", "--baas", "firebase", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    files = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert json.loads(files["firebase.json"]["content"])["hosting"]["public"] == "."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


def test_dry_run_table_shows_would_create_and_contents(tmp_path: Path) -> None:
    site(tmp_path)
    r = run(tmp_path, "init", "--baas", "vercel", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "would create" in r.stdout and '"outputDirectory": "."' in r.stdout
    assert "Dry run: nothing was written." in r.stdout
    assert not (tmp_path / "moai.toml").exists()


def test_unknown_platform_exits_2_listing_known(tmp_path: Path) -> None:
    r = run(tmp_path, "init", "--baas", "heroku")
    assert r.returncode == 2
    assert "Unknown platform 'heroku' (--baas)" in r.stderr and "netlify" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_accepted_but_unsupported_platform_exits_2(tmp_path: Path) -> None:
    r = run(tmp_path, "init", "--baas", "amplify")
    assert r.returncode == 2
    assert "cannot scaffold it yet" in r.stderr


def test_malformed_moai_toml_exits_1_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "moai.toml").write_text('[project]\nname = "x\n')
    r = run(tmp_path, "init", "--yes")
    assert r.returncode == 1
    assert "Error: moai.toml:2:" in r.stderr and "--force" in r.stderr
    assert (tmp_path / "moai.toml").read_text() == '[project]\nname = "x\n'
    forced = run(tmp_path, "init", "--yes", "--force")
    assert forced.returncode == 0 and "overwritten" in forced.stdout


def test_malformed_firebase_json_exits_1(tmp_path: Path) -> None:
    site(tmp_path)
    (tmp_path / "firebase.json").write_text("{,}")
    r = run(tmp_path, "init", "--baas", "firebase")
    assert r.returncode == 1
    assert "firebase.json:1:2" in r.stderr
    assert not (tmp_path / "moai.toml").exists()


def test_unwritable_project_dir_exits_1(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    r = run(tmp_path, "-C", str(tmp_path / "file" / "site"), "init", "--yes")
    assert r.returncode == 1
    assert "not writable" in r.stderr


def test_example_hello_site(tmp_path: Path) -> None:
    r = run(tmp_path, "-C", str(tmp_path / "demo"), "init", "--example", "hello-site", "--baas", "local", "--json")
    assert r.returncode == 0, r.stderr
    demo = tmp_path / "demo"
    assert (demo / "index.html").is_file() and (demo / "_headers").is_file()
    cfg = load_config(demo / "moai.toml")
    assert (cfg.name, cfg.framework, cfg.output, cfg.build_command) == ("demo", "static", ".", None)
    assert run(tmp_path, "init", "--example", "missing").returncode == 2


def test_bad_name_exits_2(tmp_path: Path) -> None:
    r = run(tmp_path, "init", "--name", "Bad Name")
    assert r.returncode == 2 and "--name" in r.stderr


def test_cli_runner_in_process(tmp_path: Path) -> None:
    site(tmp_path)
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "init", "--baas", "netlify", "--name", "demo-1", "--yes"])
    assert result.exit_code == 0, result.output
    assert "netlify.toml" in result.output
    assert tomllib.loads((tmp_path / "netlify.toml").read_text())["build"]["publish"] == "."
    assert load_config(tmp_path / "moai.toml").name == "demo-1"


def test_help_lists_flags() -> None:
    result = CliRunner().invoke(cli, ["init", "--help"])
    for flag in ("--baas", "--name", "--yes", "--force", "--dry-run", "--json", "--example"):
        assert flag in result.output


# ---- interactive (a real pseudo-terminal) ---------------------------------------------------

def _expect(fd: int, buffer: bytearray, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text.encode() not in buffer:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {text!r}; got:\n{buffer.decode(errors='replace')}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                raise AssertionError(f"process ended before {text!r}; got:\n{buffer.decode(errors='replace')}")
            buffer += chunk


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_interactive_prompts_and_confirmation(tmp_path: Path) -> None:
    (tmp_path / "vite.config.js").write_text("export default {}")
    (tmp_path / "package.json").write_text('{"name": "shop", "scripts": {"build": "vite build"}}')
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="120", TERM="dumb")
    proc = subprocess.Popen([sys.executable, "-m", "moai_adk", "init"], cwd=tmp_path, stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    buffer = bytearray()
    try:
        _expect(master, buffer, "Project name [shop]")
        os.write(master, b"Bad Name\n")  # refused: asked again
        _expect(master, buffer, "not a valid project name")
        os.write(master, b"\n")
        _expect(master, buffer, "Build command (empty: no build) [npm run build]")
        os.write(master, b"\n")
        _expect(master, buffer, "Output folder [dist]")
        os.write(master, b"site-out\n")
        _expect(master, buffer, "Platforms")
        os.write(master, b"heroku\n")
        _expect(master, buffer, "Unknown platform 'heroku'")
        os.write(master, b"vercel netlify\n")
        _expect(master, buffer, "Write these files?")
        os.write(master, b"y\n")
        assert proc.wait(timeout=60) == 0, buffer.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    cfg = load_config(tmp_path / "moai.toml")
    assert (cfg.name, cfg.output, cfg.platforms) == ("shop", "site-out", ["vercel", "netlify"])
    assert json.loads((tmp_path / "vercel.json").read_text())["outputDirectory"] == "site-out"
    assert "would create" in buffer.decode(errors="replace")


def test_link_flag_links_vercel_through_the_cli(tmp_path: Path) -> None:
    from tests.fakes.vercel import FakeVercel

    site(tmp_path)
    fake = FakeVercel()
    with fake.serve() as url:
        env = dict(os.environ, VERCEL_TOKEN="test-token", MOAI_VERCEL_API_URL=url)
        r = subprocess.run([sys.executable, "-m", "moai_adk", "init", "--baas", "vercel", "--name", "shop",
                            "--link", "--json"], cwd=tmp_path, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        links = json.loads(r.stdout)["links"]
        assert links[0]["platform"] == "vercel" and links[0]["linked"] is True
        assert json.loads((tmp_path / ".vercel" / "project.json").read_text())["projectId"] in fake.projects
        no_token = subprocess.run([sys.executable, "-m", "moai_adk", "init", "--link"], cwd=tmp_path,
                                  capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
                                  env={k: v for k, v in env.items() if k != "VERCEL_TOKEN"})
        assert no_token.returncode == 1 and "VERCEL_TOKEN" in no_token.stderr


def test_every_init_flag_and_framework_is_documented() -> None:
    from moai_adk.project.detect import FRAMEWORK_TITLES
    from moai_adk.project.platforms import INIT_PLATFORMS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "init.md").read_text()
    command = cli.load_all()["init"]
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--") and opt not in ("--help",):
                assert f"`{opt}" in doc, f"{opt} is not documented in docs/init.md"
    for title in FRAMEWORK_TITLES.values():
        assert title.split(" ")[0] in doc
    for name in INIT_PLATFORMS:
        assert f"`{name}`" in doc


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_interactive_answer_no_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    site(tmp_path)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "moai_adk", "init", "--baas", "netlify"], cwd=tmp_path,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env=dict(os.environ, COLUMNS="120", TERM="dumb"))
    os.close(slave)
    buffer = bytearray()
    try:
        for prompt in ("Project name", "Build command", "Output folder"):
            _expect(master, buffer, prompt)
            os.write(master, b"\n")
        _expect(master, buffer, "Write these files?")
        os.write(master, b"n\n")
        assert proc.wait(timeout=60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


def test_baas_supabase_alone_keeps_local_as_the_deploy_default(tmp_path: Path) -> None:
    site(tmp_path)
    r = run(tmp_path, "init", "--baas", "supabase", "--no-link")
    assert r.returncode == 0, r.stderr
    assert "deploys to local; backend: supabase" in r.stdout
    cfg = load_config(tmp_path / "moai.toml")
    assert cfg.platform == "local" and cfg.platforms == ["local", "supabase"]
    dry = run(tmp_path, "deploy", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.rstrip().endswith("to local (preview).")


def test_baas_supabase_then_vercel_makes_vercel_the_default(tmp_path: Path) -> None:
    site(tmp_path)
    r = run(tmp_path, "init", "--baas", "supabase", "--baas", "vercel", "--no-link", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["platform"] == "vercel" and data["platforms"] == ["vercel", "supabase"]
    assert data["backends"] == ["supabase"]
    assert "deploys to vercel; backend: supabase" in run(tmp_path, "init", "--no-link").stdout


def test_deploy_to_supabase_is_refused_alike_with_and_without_dry_run(tmp_path: Path) -> None:
    site(tmp_path)
    assert run(tmp_path, "init", "--baas", "supabase", "--no-link").returncode == 0
    dry = run(tmp_path, "deploy", "--dry-run", "--platform", "supabase")
    real = run(tmp_path, "deploy", "--platform", "supabase")
    for r in (dry, real):
        assert r.returncode != 0
        assert "The supabase platform has no site hosting." in r.stderr and "would deploy" not in r.stdout
    assert dry.stderr == real.stderr


def test_rerun_over_a_supabase_deploy_default_says_how_to_fix_it(tmp_path: Path) -> None:
    site(tmp_path)
    (tmp_path / "moai.toml").write_text('[project]\nname = "x"\n\n[deploy]\nplatform = "supabase"\n')
    r = run(tmp_path, "init", "--baas", "netlify", "--no-link")
    assert r.returncode == 0, r.stderr
    assert "deploy.platform = 'supabase', which hosts no sites" in r.stdout
    assert "set [deploy] platform to 'netlify'" in r.stdout
