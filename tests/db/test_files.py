"""Migration files: naming, bad names, duplicate versions, `migration new` with an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from moai_adk.db.files import MIGRATIONS_DIR, new_migration, scan, timestamp
from moai_adk.errors import MigrationError, UsageError


def test_version_and_name_come_from_the_file_name(project: Path, write: Callable[[str, str], Path]) -> None:
    write("20240101120000_create_users.sql", "select 1")
    write("20240102000000_with_under_scores_.sql", "select 1")
    write("7_short.sql", "select 1")
    local = scan(project / MIGRATIONS_DIR)
    assert [(f.version, f.name) for f in local.files] == [
        ("20240101120000", "create_users"), ("20240102000000", "with_under_scores_"), ("7", "short")]
    assert local.bad_names == []


def test_bad_names_are_warned_about_with_the_expected_pattern(project: Path, write: Callable[[str, str], Path]) -> None:
    write("20240101120000_ok.sql", "select 1")
    write("create_users.sql", "select 1")
    write("2024-01-01_dash.sql", "select 1")
    write("README.md", "docs")
    (project / MIGRATIONS_DIR / "sub").mkdir()
    local = scan(project / MIGRATIONS_DIR)
    assert [f.version for f in local.files] == ["20240101120000"]
    assert sorted(p.name for p in local.bad_names) == ["2024-01-01_dash.sql", "create_users.sql"]
    warnings = local.warnings()
    assert len(warnings) == 2
    assert all("<YYYYMMDDHHMMSS>_<name>.sql" in w for w in warnings)
    assert any("create_users.sql" in w for w in warnings)


def test_push_refusal_names_the_file_and_how_to_rename(project: Path, write: Callable[[str, str], Path]) -> None:
    write("add-index.sql", "select 1")
    local = scan(project / MIGRATIONS_DIR, project)
    with pytest.raises(MigrationError) as err:
        local.refuse_bad_names(project)
    assert "supabase/migrations/add-index.sql" in err.value.message
    assert "<YYYYMMDDHHMMSS>_<name>.sql" in err.value.message
    assert "mv supabase/migrations/add-index.sql supabase/migrations/<YYYYMMDDHHMMSS>_add_index.sql" in (err.value.hint or "")


def test_two_files_with_one_version_is_an_error_naming_both(project: Path, write: Callable[[str, str], Path]) -> None:
    write("20240101120000_a.sql", "select 1")
    write("20240101120000_b.sql", "select 2")
    with pytest.raises(MigrationError) as err:
        scan(project / MIGRATIONS_DIR, project)
    msg = err.value.message
    assert "20240101120000" in msg
    assert "supabase/migrations/20240101120000_a.sql" in msg and "supabase/migrations/20240101120000_b.sql" in msg


def test_legacy_init_first_file_is_skipped_like_supabase(project: Path, write: Callable[[str, str], Path]) -> None:
    write("20211208000000_init.sql", "select 1")
    write("20211210000000_init.sql", "select 1")
    local = scan(project / MIGRATIONS_DIR)
    assert local.versions == ["20211210000000"]
    assert [p.name for p in local.skipped_legacy] == ["20211208000000_init.sql"]


def test_missing_folder_means_no_migrations(tmp_path: Path) -> None:
    assert scan(tmp_path / "nope").files == []


def test_timestamp_is_utc() -> None:
    local = datetime(2024, 3, 5, 9, 7, 2, tzinfo=timezone(timedelta(hours=9)))
    assert timestamp(local) == "20240305000702"
    assert timestamp(datetime(2024, 12, 31, 23, 59, 59)) == "20241231235959"


def test_new_migration_uses_the_clock_and_writes_atomically(tmp_path: Path) -> None:
    folder = tmp_path / "supabase" / "migrations"
    path = new_migration(folder, "create_users", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    assert path == folder / "20240506070809_create_users.sql"
    assert path.read_text() == ""
    assert sorted(p.name for p in folder.iterdir()) == ["20240506070809_create_users.sql"]  # no temp left


def test_new_migration_refuses_a_version_clash(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    new_migration(folder, "a", now)
    with pytest.raises(MigrationError) as err:
        new_migration(folder, "b", now)
    assert "20240506070809" in err.value.message
    assert not (folder / "20240506070809_b.sql").exists()


@pytest.mark.parametrize("name", ["", "has space", "../escape", "x.sql", "-lead"])
def test_new_migration_rejects_unusable_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError) as err:
        new_migration(tmp_path, name, datetime(2024, 1, 1, tzinfo=UTC))
    assert err.value.hint and err.value.hint.startswith("moai-adk db migration new ")
    assert list(tmp_path.iterdir()) == []
