"""`moai-adk secrets ...` and `env ... --secrets-from-store`: the real CLI against a real local platform."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from moai_adk.config import load_config
from moai_adk.workspace import open_provider
from tests.conftest import RunningPlatform

from .conftest import Run, make_project, user_env

TOKEN = "sk_live_4f9a2c7e1b8d3f6a"
PASSWORD = "correct horse battery staple"
MULTILINE = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
KNOWN = (TOKEN, PASSWORD, MULTILINE, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")


def ok(r: subprocess.CompletedProcess[str]) -> None:
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_commands_never_print_a_secret_value(moai: Run, tmp_path: Path, local_platform: RunningPlatform) -> None:
    root = make_project(tmp_path / "p", local_platform.new_site("redact"))
    env = local_platform.environ()
    printed: list[str] = []

    def run(*args: str, stdin: str | None = None, code: int = 0) -> None:
        r = moai(*args, cwd=root, env=env, stdin=stdin)
        assert r.returncode == code, (args, r.stdout, r.stderr)
        printed.extend([r.stdout, r.stderr])

    run("secrets", "keygen", "--env", "production")
    run("secrets", "set", "STRIPE_KEY", "--env", "production", stdin=TOKEN + "\n")
    run("secrets", "set", "DB_PASSWORD", PASSWORD, "--env", "production", "--debug")
    (tmp_path / "more.env").write_text(f'TLS_KEY="{MULTILINE.replace(chr(10), chr(92) + "n")}"\n')
    run("secrets", "import", str(tmp_path / "more.env"), "--env", "production", "--json")
    for fmt in ((), ("--json",), ("--debug",)):
        run("secrets", "list", "--env", "production", *fmt)
        for key in ("STRIPE_KEY", "DB_PASSWORD", "TLS_KEY"):
            run("secrets", "get", key, "--env", "production", *fmt)
        run("env", "list", "--env", "production", *fmt)
    # a platform copy that is readable (not a secret there) is masked too
    run("env", "set", "LEAKED", TOKEN, "--env", "production")
    run("env", "list", "--env", "production", "--json")
    run("env", "push", "--env", "production", "--secrets-from-store", "--json")
    run("env", "push", "--env", "production", "--secrets-from-store", "--dry-run")
    # errors whose message and --debug traceback would carry a value
    (tmp_path / "bad.env").write_text(f"this line holds {TOKEN} and no equals sign\n")
    run("env", "push", "--env", "production", "--file", str(tmp_path / "bad.env"), "--debug", code=1)
    run("secrets", "import", str(tmp_path / "bad.env"), "--env", "production", "--debug", code=1)
    run("secrets", "set", "bad-name", PASSWORD, "--env", "production", "--debug", code=2)
    run("secrets", "rotate", "--env", "production", "--json")
    run("secrets", "rm", "DB_PASSWORD", "--env", "production", "--debug")
    everything = "\n".join(printed)
    for value in KNOWN:
        assert value not in everything
    assert "Traceback (most recent call last)" in everything  # --debug did print tracebacks, redacted
    assert "bad.env:1: expected KEY=value, found a line of" in everything and "with no '=' sign" in everything
    assert '"value": "********"' in everything and "STRIPE_KEY=********" in everything

    r = moai("secrets", "get", "STRIPE_KEY", "--env", "production", "--reveal", cwd=root, env=env)
    assert r.stdout == TOKEN + "\n"  # the one way to print a value, on purpose
    r = moai("secrets", "get", "TLS_KEY", "--env", "production", "--reveal", "--json", cwd=root, env=env)
    assert json.loads(r.stdout)["value"] == MULTILINE


def test_env_push_sends_the_store_as_platform_secrets(moai: Run, tmp_path: Path,
                                                       local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("push")
    root = make_project(tmp_path / "p", site)
    env = local_platform.environ()
    ok(moai("secrets", "keygen", "--env", "staging", cwd=root, env=env))
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "staging", cwd=root, env=env))
    before = {p.name for p in root.rglob("*")}
    r = moai("env", "push", "--env", "staging", "--secrets-from-store", "--json", cwd=root, env=env)
    ok(r)
    assert json.loads(r.stdout)["added"] == ["API_TOKEN"]
    audit_log = {"audit", "log.jsonl"}  # the push is recorded (key names only) in .moai/audit
    assert {p.name for p in root.rglob("*")} - audit_log == before - audit_log  # nothing decrypted to disk
    assert "sk_live" not in (root / ".moai" / "audit" / "log.jsonl").read_text()
    assert local_platform.platform.meta.env_list(site, "staging")[0][:3] == ("API_TOKEN", TOKEN, True)
    r = moai("env", "push", "--env", "staging", "--secrets-from-store", "--file", "x.env", cwd=root, env=env)
    assert r.returncode == 2 and "does not take --file" in r.stderr
    r = moai("env", "push", "--env", "preview", "--secrets-from-store", cwd=root, env=env)
    assert r.returncode == 2 and "The preview environment has no secrets" in r.stderr


def test_rotate_says_which_platforms_still_hold_the_old_values(moai: Run, tmp_path: Path,
                                                                local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("rotate")
    root = make_project(tmp_path / "p", site)
    env = local_platform.environ()
    bob = {**env, **user_env(tmp_path, "bob")}
    ok(moai("secrets", "keygen", "--env", "production", "--name", "alice", cwd=root, env=env))
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "production", cwd=root, env=env))
    ok(moai("secrets", "set", "DB_PASSWORD", PASSWORD, "--env", "production", cwd=root, env=env))
    r = moai("secrets", "keygen", "--env", "production", "--name", "bob", cwd=root, env=bob)
    ok(r)
    assert "is not yet encrypted to it" in r.stderr and "secrets rotate --env production" in r.stderr
    r = moai("secrets", "get", "API_TOKEN", "--env", "production", cwd=root, env=bob)
    assert r.returncode == 1 and "was not re-encrypted since your key was added" in r.stderr
    ok(moai("secrets", "rotate", "--env", "production", cwd=root, env=env))
    ok(moai("secrets", "get", "API_TOKEN", "--env", "production", cwd=root, env=bob))
    ok(moai("env", "push", "--env", "production", "--secrets-from-store", cwd=root, env=env))
    r = moai("secrets", "rotate", "--env", "production", "--remove", "bob", "--json", cwd=root, env=env)
    ok(r)
    data = json.loads(r.stdout)
    assert len(data["removed"]) == 1
    assert data["platforms"] == [{"platform": "local", "keys": ["API_TOKEN", "DB_PASSWORD"]}]
    assert "these platforms still hold them: local: API_TOKEN, DB_PASSWORD" in r.stderr
    assert TOKEN not in r.stdout + r.stderr and PASSWORD not in r.stdout + r.stderr
    r = moai("secrets", "list", "--env", "production", cwd=root, env=bob)
    assert r.returncode == 1 and "is not one of the recipients" in r.stderr
    assert "--add age1" in r.stderr


def test_bad_input_through_the_cli(moai: Run, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", extra='\n[environments.qa]\nplatform = "local"\n')
    r = moai("secrets", "list", "--env", "prod", cwd=root)
    assert r.returncode == 1
    assert "Unknown environment 'prod' (--env). Known environments: development, preview, production, qa, staging." \
        in r.stderr
    ok(moai("secrets", "keygen", "--env", "qa", cwd=root))
    r = moai("secrets", "keygen", "--env", "qa", cwd=root)
    assert r.returncode == 2 and "already have a key for the qa environment" in r.stderr
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "qa", cwd=root))
    r = moai("secrets", "get", "API_TOKEN", "--env", "qa", cwd=root, env=user_env(tmp_path, "dave"))
    assert r.returncode == 1 and "No private key for the qa environment" in r.stderr
    assert "Hint: Run `moai-adk secrets keygen --env qa`" in r.stderr
    (root / ".moai/secrets/qa.age").write_text("-----BEGIN AGE ENCRYPTED FILE-----\nnot really\n")
    r = moai("secrets", "get", "API_TOKEN", "--env", "qa", cwd=root)
    assert r.returncode == 1 and ".moai/secrets/qa.age is corrupted" in r.stderr
    (tmp_path / "dup.env").write_text("A_KEY=value-one\nA_KEY=value-two\n")
    r = moai("secrets", "import", str(tmp_path / "dup.env"), "--env", "development", cwd=root)
    assert r.returncode == 1 and "A_KEY on lines 1 and 2" in r.stderr
    assert "value-one" not in r.stderr


def test_the_key_backend_is_chosen_explicitly(moai: Run, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    no_keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    r = moai("secrets", "keygen", "--env", "production", cwd=root,
             env={**no_keyring, "MOAI_SECRETS_BACKEND": "keyring"})
    assert r.returncode == 1 and "MOAI_SECRETS_BACKEND=keyring, but no OS keyring is usable here" in r.stderr
    assert not (root / ".moai/secrets/production.recipients").exists()
    r = moai("secrets", "keygen", "--env", "production", cwd=root, env={**no_keyring, "MOAI_SECRETS_BACKEND": "auto"})
    ok(r)
    assert "the key file" in r.stdout and "(no OS keyring is usable here)" in r.stdout
    # a real keyring backend (keyrings.alt's file keyring): the key goes there, not to a key file
    data = tmp_path / "kr-data"
    kr = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring", "MOAI_SECRETS_BACKEND": "keyring",
          "XDG_DATA_HOME": str(data)}
    r = moai("secrets", "keygen", "--env", "staging", "--json", cwd=root, env=kr)
    ok(r)
    assert json.loads(r.stdout)["backend"] == "keyring"
    assert not (tmp_path / "alice-config/moai-adk/keys/demo/staging.key").exists()
    assert "demo_2fstaging" in (data / "python_keyring/keyring_pass.cfg").read_text()  # keyrings.alt escapes "/"
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "staging", cwd=root, env=kr))
    r = moai("secrets", "get", "API_TOKEN", "--env", "staging", "--reveal", cwd=root, env=kr)
    assert r.stdout == TOKEN + "\n"
    r = moai("secrets", "get", "API_TOKEN", "--env", "staging", cwd=root, env={"MOAI_SECRETS_BACKEND": "file"})
    assert r.returncode == 1 and "No private key for the staging environment" in r.stderr


def test_the_provider_sees_names_only_after_push(tmp_path: Path, moai: Run, local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("names")
    root = make_project(tmp_path / "p", site)
    env = local_platform.environ()
    ok(moai("secrets", "keygen", "--env", "production", cwd=root, env=env))
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "production", cwd=root, env=env))
    ok(moai("env", "push", "--env", "production", "--secrets-from-store", cwd=root, env=env))
    with open_provider(load_config(root / "moai.toml"), env, "local") as provider:
        listed = provider.env_list("production")  # type: ignore[attr-defined]
    assert [(v.key, v.value, v.secret) for v in listed] == [("API_TOKEN", None, True)]


def test_store_changes_are_audited_without_values(moai: Run, tmp_path: Path,
                                                  local_platform: RunningPlatform) -> None:
    root = make_project(tmp_path / "p", local_platform.new_site("audit"))
    env = local_platform.environ()
    ok(moai("secrets", "keygen", "--env", "staging", cwd=root, env=env))
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "staging", cwd=root, env=env))
    ok(moai("secrets", "rm", "API_TOKEN", "--env", "staging", cwd=root, env=env))
    log = (root / ".moai" / "audit" / "log.jsonl").read_text()
    actions = [json.loads(line)["action"] for line in log.splitlines()]
    assert actions == ["secrets keygen", "secrets set", "secrets rm"]
    assert TOKEN not in log and "API_TOKEN" in log
    r = moai("audit", "verify", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
