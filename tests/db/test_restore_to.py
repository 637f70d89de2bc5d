"""db restore --to: checksum first, restore beside the live database, check, swap (old kept), on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from moai_adk.db.backups import create_backup, list_backups, restore_backup
from moai_adk.db.connect import Target
from moai_adk.db.restore_to import restore_to
from moai_adk.db.storage import LocalStorage
from moai_adk.errors import BackupError, UsageError
from tests.db.backup_helpers import databases_like, extra_databases, new_database, request, seed  # noqa: F401
from tests.db.conftest import url_for

TAKEN = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
LATER = datetime(2024, 6, 2, 8, 30, 0, tzinfo=UTC)


@pytest.fixture
def live(admin: psycopg.Connection, extra_databases: list[str]) -> Iterator[str]:  # noqa: F811
    """A seeded database (its name) standing for an environment's live database."""
    name = new_database(admin, extra_databases)
    with psycopg.connect(url_for(name), autocommit=True) as conn:
        seed(conn)
    yield name


def items(dbname: str) -> int:
    with psycopg.connect(url_for(dbname)) as conn:
        row = conn.execute("select count(*) from items").fetchone()
    assert row is not None
    return int(row[0])


def test_restore_to_swaps_in_the_backup_and_keeps_the_old_database(
        tmp_path: Path, admin: psycopg.Connection, live: str, extra_databases: list[str]) -> None:  # noqa: F811
    target = Target(url=url_for(live), environment="staging", env_var="STAGING_DB_URL")
    storage = LocalStorage(tmp_path / "b")
    backup = create_backup(target, request(tmp_path), storage, now=TAKEN)
    with psycopg.connect(url_for(live), autocommit=True) as conn:
        conn.execute("insert into items values (1000, 'after the backup')")
    old_name, new_name = f"{live}_before_20240602083000", f"{live}_restore_20240602083000"
    extra_databases += [old_name, new_name]
    plan = restore_to(storage, backup.id, target, request(tmp_path), now=LATER, dry_run=True)
    assert plan.dry_run and plan.old == old_name and "Would restore" in plan.summary()
    assert databases_like(admin, live) == [live]   # the dry run touched nothing
    holder = psycopg.connect(url_for(live), autocommit=True)   # a session the swap must end
    steps: list[str] = []
    result = restore_to(storage, backup.id, target, request(tmp_path), now=LATER, on_step=steps.append)
    assert result.sessions_ended >= 1 and _dead(holder)
    holder.close()
    assert databases_like(admin, live) == [live, old_name]
    assert items(live) == 50 and items(old_name) == 51
    assert backup.manifest is not None and result.tables == backup.manifest.tables
    assert f'ALTER DATABASE "{old_name}" RENAME TO "{live}"' in result.summary()
    assert result.pre_backup is None and len(steps) == 2
    log = (tmp_path / ".moai" / "audit" / "log.jsonl").read_text()
    assert '"action":"db restore"' in log and old_name in log


def _dead(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("select 1")
    except psycopg.OperationalError:
        return True
    return False


def test_production_needs_yes_and_is_backed_up_first(tmp_path: Path, admin: psycopg.Connection, live: str,
                                                     extra_databases: list[str]) -> None:  # noqa: F811
    target = Target(url=url_for(live), environment="production", env_var="PROD_DB_URL")
    storage = LocalStorage(tmp_path / "b")
    backup = create_backup(target, request(tmp_path), storage, now=TAKEN)
    with psycopg.connect(url_for(live), autocommit=True) as conn:
        conn.execute("delete from items where id > 10")
    with pytest.raises(UsageError) as err:
        restore_to(storage, backup.id, target, request(tmp_path), now=LATER)
    assert "--yes" in err.value.message and err.value.exit_code == 2
    assert databases_like(admin, live) == [live] and items(live) == 10
    assert [m.id for m in list_backups(storage)[0]] == [backup.id]   # nothing taken, nothing changed
    extra_databases += [f"{live}_before_20240602083000"]
    result = restore_to(storage, backup.id, target, request(tmp_path), now=LATER, yes=True)
    assert result.pre_backup == "production-20240602083000"
    pre = [m for m in list_backups(storage)[0] if m.id == result.pre_backup][0]
    assert pre.tables["public.items"] == 10 and items(live) == 50


def test_a_bad_checksum_or_truncated_file_refuses_before_touching_anything(
        tmp_path: Path, admin: psycopg.Connection, live: str) -> None:
    target = Target(url=url_for(live), environment="staging", env_var="X")
    storage = LocalStorage(tmp_path / "b")
    backup = create_backup(target, request(tmp_path), storage, now=TAKEN)
    dump = storage.folder / f"{backup.id}.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF   # same size, one byte changed
    dump.write_bytes(bytes(data))
    with psycopg.connect(url_for(live), autocommit=True) as conn:
        conn.execute("insert into items values (1000, 'live')")
    for attempt in ("flipped", "truncated"):
        with pytest.raises(BackupError) as err:
            restore_to(storage, backup.id, target, request(tmp_path), now=LATER)
        assert ("SHA-256" if attempt == "flipped" else "truncated") in err.value.message
        assert "nothing was restored" in err.value.message
        assert databases_like(admin, live) == [live] and items(live) == 51
        with pytest.raises(BackupError):  # the in-place form refuses the same way
            restore_backup(storage, dump, target, root=tmp_path, project="shop", environ={}, clean=True)
        assert items(live) == 51
        dump.write_bytes(bytes(data[:-500]))


def test_rows_other_than_the_manifest_drop_the_restore_and_leave_live_alone(
        tmp_path: Path, admin: psycopg.Connection, live: str) -> None:
    target = Target(url=url_for(live), environment="staging", env_var="X")
    storage = LocalStorage(tmp_path / "b")
    backup = create_backup(target, request(tmp_path), storage, now=TAKEN)
    path = storage.folder / f"{backup.id}.json"
    path.write_text(path.read_text().replace('"public.items": 50', '"public.items": 49'))
    with pytest.raises(BackupError) as err:
        restore_to(storage, backup.id, target, request(tmp_path), now=LATER)
    assert "table public.items has 50 rows, the manifest says 49" in err.value.message
    assert databases_like(admin, live) == [live]   # the new database was dropped, no swap


def test_in_place_restore_of_a_backup_id_checks_and_records(tmp_path: Path, live: str,
                                                             admin: psycopg.Connection,
                                                             extra_databases: list[str]) -> None:  # noqa: F811
    target = Target(url=url_for(live), environment="staging", env_var="X")
    storage = LocalStorage(tmp_path / "b")
    backup = create_backup(target, request(tmp_path), storage, now=TAKEN)
    other = new_database(admin, extra_databases)
    result = restore_backup(storage, backup.id, Target(url=url_for(other)), root=tmp_path, project="shop",
                            environ={})
    assert items(other) == 50 and result.path.name == f"{backup.id}.dump"
