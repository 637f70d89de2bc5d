"""Changes made through the CLI land in the audit log: env set/unset/push on a real local platform,
db push/repair on a real PostgreSQL; `audit log` filters them."""

from __future__ import annotations

import json
from pathlib import Path

from moai_adk import audit
from tests.conftest import RunningPlatform
from tests.db.conftest import admin, db_url  # noqa: F401 - fixtures

from .conftest import Run


def project(root: Path, site: str, extra: str = "") -> Path:
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "local"\n{extra}')
    return root


def test_env_changes_are_audited_without_their_values(cli: Run, tmp_path: Path,
                                                      local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("audenv"))
    env = local_platform.environ()
    for args in (("env", "set", "API_TOKEN", "s3cr3t-value", "--secret", "--env", "production"),
                 ("env", "set", "MODE", "fast", "--env", "production", "--dry-run"),
                 ("env", "unset", "API_TOKEN", "--env", "production")):
        r = cli(*args, cwd=root, env=env)
        assert r.returncode == 0, r.stderr
    (root / "push.env").write_text("A=1\nB=2\n")
    r = cli("env", "push", "--file", "push.env", "--env", "preview", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    entries = audit.read_entries(root)
    assert [(e["action"], e["environment"], e["target"]) for e in entries] == [
        ("env set", "production", "local"), ("env unset", "production", "local"), ("env push", "preview", "local")]
    assert entries[0]["details"] == {"key": "API_TOKEN", "action": "add", "secret": True}
    assert entries[2]["details"]["added"] == ["A", "B"]
    assert b"s3cr3t-value" not in audit.log_path(root).read_bytes()

    r = cli("audit", "log", "--env", "production", "--json", cwd=root)
    assert r.returncode == 0, r.stderr
    assert [e["action"] for e in json.loads(r.stdout)["entries"]] == ["env set", "env unset"]
    r = cli("audit", "log", "--since", "1h", cwd=root)
    assert r.returncode == 0 and "env push" in r.stdout and "preview" in r.stdout
    r = cli("audit", "log", "--since", "2999-01-01", "--json", cwd=root)
    assert json.loads(r.stdout)["entries"] == []
    r = cli("audit", "log", "--since", "last tuesday", cwd=root)
    assert r.returncode == 2 and "--since 7d" in r.stderr
    r = cli("audit", "verify", cwd=root)
    assert r.returncode == 0 and "3 entries" in r.stdout


def test_db_push_and_repair_are_audited(cli: Run, tmp_path: Path, db_url: str) -> None:  # noqa: F811
    root = tmp_path / "shop"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "moai.toml").write_text('[project]\nname = "shop"\n\n[environments.production]\n'
                                    'db_url_env = "PROD_DB_URL"\n')
    (root / "supabase" / "migrations" / "20240101000001_a.sql").write_text("create table a (id int);")
    env = {"PROD_DB_URL": db_url}
    r = cli("db", "push", "--env", "production", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    r = cli("db", "migration", "repair", "20240101000001", "--status", "reverted", "--env", "production",
            cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    entries = audit.read_entries(root)
    # a push to production takes a verified backup first (db push's production gate)
    assert [e["action"] for e in entries] == ["db backup", "migration push", "migration repair"]
    entries = entries[1:]
    assert entries[0]["details"] == {"applied": ["20240101000001"]} and entries[0]["environment"] == "production"
    assert entries[1]["details"] == {"status": "reverted", "versions": ["20240101000001"]}
    assert entries[0]["target"].startswith("environment 'production' ($PROD_DB_URL")


def test_no_cli_module_writes_the_audit_log() -> None:
    """The services record their changes (so a library caller's are recorded too); the CLI only reads the log."""
    import ast

    import moai_adk

    offenders = []
    for path in sorted((Path(moai_adk.__file__).parent / "cli").glob("*.py")):
        if path.name == "audit_cmd.py":  # `audit log|verify|digest`: reads and signs, records no change
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "audit" \
                    or isinstance(node, ast.ImportFrom) and any(a.name == "audit" for a in node.names):
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr in ("record", "record_event") \
                    and isinstance(node.value, ast.Name) and node.value.id == "audit":
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_library_callers_get_the_audit_entries(tmp_path: Path, local_platform: RunningPlatform,
                                               db_url: str) -> None:  # noqa: F811
    from moai_adk import envs
    from moai_adk.config import load_config
    from moai_adk.db.connect import Target
    from moai_adk.db.push import push
    from moai_adk.db.repair import repair
    from moai_adk.secrets import ops
    from moai_adk.workspace import open_provider

    root = project(tmp_path / "lib", local_platform.new_site("audlib"))
    cfg = load_config(root / "moai.toml")
    environ = {**local_platform.environ(), "MOAI_SECRETS_BACKEND": "file", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    with open_provider(cfg, environ, "local", "staging") as provider:
        envs.set_env(provider, "staging", "MODE", "fast-and-loose")  # type: ignore[arg-type]
        envs.set_env(provider, "staging", "MODE", "other", dry_run=True)  # type: ignore[arg-type]
        envs.push_values(provider, "staging", {"A": "1"})  # type: ignore[arg-type]
        envs.unset_env(provider, "staging", "MODE")  # type: ignore[arg-type]
    store = ops.open_store(cfg, "staging", environ)
    ops.keygen(store, label="lib")
    ops.set_secret(store, "API_TOKEN", "a-long-secret-value")
    ops.remove_secret(store, "API_TOKEN")
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "migrations" / "20240101000009_lib.sql").write_text("create table lib_a (id int);")
    target = Target(url=db_url)
    push(root, target)
    push(root, target, dry_run=True)
    repair(root, target, ["20240101000009"], "reverted")
    entries = audit.read_entries(root)
    assert [(e["action"], e["environment"]) for e in entries] == [
        ("env set", "staging"), ("env push", "staging"), ("env unset", "staging"), ("secrets keygen", "staging"),
        ("secrets set", "staging"), ("secrets rm", "staging"), ("migration push", None),
        ("migration repair", None)]
    assert entries[6]["details"] == {"applied": ["20240101000009"]} and entries[6]["target"].startswith("--db-url")
    assert b"a-long-secret-value" not in audit.log_path(root).read_bytes()


def test_every_action_the_code_records_is_listed_in_actions_and_documented() -> None:
    import re

    from moai_adk import audit

    src = Path(audit.__file__).resolve().parents[1]
    pattern = re.compile(r'audit\.record\([^,]+, "([a-z -]+)"|"event": "([a-z-]+)"')
    found = {a or b for p in src.rglob("*.py") for a, b in pattern.findall(p.read_text())}
    assert found and found <= set(audit.ACTIONS), f"add to audit.ACTIONS: {sorted(found - set(audit.ACTIONS))}"
    doc = (src.parents[1] / "docs" / "audit.md").read_text()
    assert not [a for a in found if f"`{a}`" not in doc], "document each action in docs/audit.md"
