"""db backups prune: grandfather-father-son selection over backups whose created_at the test sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from moai_adk.config import BackupSettings
from moai_adk.db.manifest import FORMAT, Manifest
from moai_adk.db.retention import prune, select
from moai_adk.db.storage import LocalStorage


def manifest(env: str, at: datetime) -> Manifest:
    stamp = at.strftime("%Y%m%d%H%M%S")
    return Manifest(id=f"{env}-{stamp}", environment=env, database="app", created_at=at.isoformat(),
                    server_version="15.0", pg_dump_version="pg_dump 15", file=f"{env}-{stamp}.dump", size=3,
                    sha256="0" * 64, dump_size=3, dump_sha256="0" * 64, entries=1)


def at(day: str, hour: int = 3) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def kept(reasons: dict[str, list[str]]) -> list[str]:
    return sorted(i for i, why in reasons.items() if why)


def test_newest_of_each_recent_day_week_and_month_is_kept() -> None:
    # Monday 2024-06-03 .. : twice a day for the first days, then daily back to March
    start = at("2024-06-10")
    backups = [manifest("production", start - timedelta(days=d)) for d in range(0, 100)]
    backups += [manifest("production", at("2024-06-10", 1)), manifest("production", at("2024-06-09", 1))]
    reasons = select(backups, BackupSettings(keep_daily=3, keep_weekly=2, keep_monthly=3))
    assert reasons["production-20240610030000"] == ["latest", "daily 2024-06-10", "weekly 2024-W24",
                                                    "monthly 2024-06"]
    assert reasons["production-20240610010000"] == []          # an older one of the same day
    assert reasons["production-20240609030000"] == ["daily 2024-06-09", "weekly 2024-W23"]  # Sunday ends W23
    assert reasons["production-20240608030000"] == ["daily 2024-06-08"]
    assert reasons["production-20240531030000"] == ["monthly 2024-05"]
    assert reasons["production-20240430030000"] == ["monthly 2024-04"]
    assert kept(reasons) == ["production-20240430030000", "production-20240531030000", "production-20240608030000",
                             "production-20240609030000", "production-20240610030000"]


def test_periods_without_backups_do_not_count_and_zero_keeps_only_the_latest() -> None:
    old = [manifest("staging", at("2023-01-05")), manifest("staging", at("2023-01-02"))]
    assert kept(select(old, BackupSettings(keep_daily=2, keep_weekly=0, keep_monthly=0))) == \
        ["staging-20230102030000", "staging-20230105030000"]
    assert kept(select(old, BackupSettings(keep_daily=0, keep_weekly=0, keep_monthly=0))) == \
        ["staging-20230105030000"]
    assert select([], BackupSettings()) == {}


def test_prune_deletes_per_environment_and_dry_run_deletes_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "b")
    days = [at("2024-06-10") - timedelta(days=d) for d in range(5)]
    for env in ("production", "staging"):
        for when in days:
            m = manifest(env, when)
            storage.put_bytes(m.file, b"abc")
            storage.put_bytes(f"{m.id}.json", m.dumps())
    storage.put_bytes("staging-broken.json", b"{not json")
    storage.put_bytes("orphan.dump", b"abc")   # no manifest: an incomplete backup, never listed nor deleted
    settings = BackupSettings(keep_daily=2, keep_weekly=0, keep_monthly=0)
    plan = prune(storage, settings, root=tmp_path, environment="staging", dry_run=True)
    assert [m.id for m in plan.deleted] == ["staging-20240608030000", "staging-20240607030000",
                                            "staging-20240606030000"]
    assert len(storage.names()) == 22 and any("staging-broken.json" in w for w in plan.warnings)
    done = prune(storage, settings, root=tmp_path)
    assert sorted(m.id for m in done.deleted) == sorted(
        [f"{e}-2024060{d}030000" for e in ("production", "staging") for d in (6, 7, 8)])
    assert storage.names() == ["orphan.dump", "production-20240609030000.dump", "production-20240609030000.json",
                               "production-20240610030000.dump", "production-20240610030000.json",
                               "staging-20240609030000.dump", "staging-20240609030000.json",
                               "staging-20240610030000.dump", "staging-20240610030000.json", "staging-broken.json"]
    entry = json.loads((tmp_path / ".moai" / "audit" / "log.jsonl").read_text().splitlines()[-1])
    assert entry["action"] == "db backups prune" and len(entry["details"]["deleted"]) == 6
    assert FORMAT == json.loads(storage.get_bytes("staging-20240610030000.json"))["format"]
