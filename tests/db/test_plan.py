"""Pending migrations with the Supabase CLI's ordering rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.db.files import MigrationFile
from moai_adk.db.plan import OutOfOrderError, RemoteAheadError, find_pending


def files(*versions: str) -> list[MigrationFile]:
    return [MigrationFile(v, f"m{v}", Path(f"supabase/migrations/{v}_m{v}.sql")) for v in versions]


def versions(fs: list[MigrationFile]) -> list[str]:
    return [f.version for f in fs]


def test_nothing_applied_means_everything_pending_in_order() -> None:
    assert versions(find_pending(files("3", "1", "2"), []).files) == ["1", "2", "3"]


def test_pending_are_the_files_after_the_last_applied() -> None:
    assert versions(find_pending(files("1", "2", "3"), ["1", "2"]).files) == ["3"]
    assert find_pending(files("1", "2"), ["1", "2"]).files == []


def test_versions_compare_as_strings() -> None:
    # "10" < "9" as strings, as in the Supabase CLI
    assert versions(find_pending(files("10", "9"), []).files) == ["10", "9"]


def test_remote_version_missing_locally_is_a_distinct_error_with_repair_command() -> None:
    with pytest.raises(RemoteAheadError) as err:
        find_pending(files("1", "3"), ["1", "2", "3"], target_flag="--env production")
    assert err.value.versions == ["2"]
    assert "remote has versions missing locally" in err.value.message
    assert "`moai-adk db migration repair --status reverted 2 --env production`" in (err.value.hint or "")


def test_remote_versions_after_all_local_files_are_missing_too() -> None:
    with pytest.raises(RemoteAheadError) as err:
        find_pending(files("1"), ["1", "5", "6"])
    assert err.value.versions == ["5", "6"]


def test_out_of_order_local_file_is_a_distinct_error_suggesting_include_all() -> None:
    with pytest.raises(OutOfOrderError) as err:
        find_pending(files("1", "2", "3"), ["1", "3"], target_flag="--env staging")
    assert versions(err.value.files) == ["2"]
    assert "local file out of order" in err.value.message and "2_m2.sql" in err.value.message
    assert "moai-adk db push --env staging --include-all" in (err.value.hint or "")


def test_include_all_applies_out_of_order_files_first() -> None:
    pending = find_pending(files("1", "2", "3", "4"), ["1", "3"], include_all=True)
    assert versions(pending.files) == ["2", "4"]
    assert versions(pending.out_of_order) == ["2"]


def test_missing_local_wins_over_out_of_order() -> None:
    with pytest.raises(RemoteAheadError):
        find_pending(files("1", "2"), ["1", "3"], include_all=True)
