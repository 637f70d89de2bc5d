"""The root group imports a command's module only when that command runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from moai_adk.cli import main as cli_main

CLI_DIR = Path(cli_main.__file__).parent


def test_every_registering_module_is_in_the_table_and_adds_exactly_its_commands() -> None:
    modules = {p.stem for p in CLI_DIR.glob("*.py") if "\ndef register(" in p.read_text()}
    assert modules == set(cli_main.COMMAND_MODULES.values()), "add the module's commands to COMMAND_MODULES"
    commands = cli_main.cli.load_all()
    assert set(commands) == set(cli_main.COMMAND_MODULES)


def test_a_command_imports_only_its_own_module() -> None:
    code = ("import sys\nfrom moai_adk.cli.main import main\n"
            "try:\n    main(['deploy', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('moai_adk.cli.') or m.startswith('moai_adk.db')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.strip().splitlines()[-1]
    assert "moai_adk.cli.deploy_cmds" in loaded
    for other in ("moai_adk.cli.db_cmd", "moai_adk.cli.init_cmd", "moai_adk.cli.secrets_cmd", "moai_adk.db"):
        assert f"'{other}'" not in loaded, f"{other} was imported by `deploy --help`: {loaded}"


def test_help_still_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "moai_adk", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for name in cli_main.COMMAND_MODULES:
        assert name in out


def test_a_dry_run_deploy_without_a_secrets_store_loads_no_keyring_db_or_crypto(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "moai.toml").write_text('[project]\nname = "lazy"\n[build]\noutput = "out"\n')
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("hi")
    code = ("import sys\nfrom moai_adk.cli.main import main\n"
            f"try:\n    main(['-C', {str(tmp_path)!r}, 'deploy', '--dry-run', '--json'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('keyring', 'moai_adk.db', 'cryptography', 'pglast', 'psycopg') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
