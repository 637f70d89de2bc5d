"""db sync against real PostgreSQL: order, one transaction, anonymisation in-stream, guards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from moai_adk import audit
from moai_adk.db.anonymize import derive_key, load_rules
from moai_adk.db.connect import Target
from moai_adk.db.sync import SyncRequest, sync
from moai_adk.errors import ConfigError, DatabaseError, UsageError

from .conftest import url_for

SCHEMA = """
create table users (id bigserial primary key, email text not null unique, name text, referrer_id bigint
                    references users(id), note text);
create table orders (id serial primary key, user_id bigint not null references users(id),
                     customer_email text, total numeric(10,2));
create table items (id serial primary key, order_id int not null references orders(id), label text);
"""


@pytest.fixture
def make_db(admin: psycopg.Connection) -> Iterator[Callable[[str], str]]:
    made: list[str] = []

    def _make(sql: str = SCHEMA) -> str:
        name = f"moai_test_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        url = url_for(name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql)
        return url
    yield _make
    for name in made:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def q(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        # user 2 refers to user 3, inserted after it: the self-reference points forward in copy order
        conn.execute("insert into users (id, email, name, referrer_id) values (1, 'ann@x.org', 'Ann', null), "
                     "(3, 'cy@x.org', 'Cy', 1)")
        conn.execute("insert into users (id, email, name, referrer_id) values (2, 'bo@x.org', 'Bo', 3)")
        conn.execute("update users set referrer_id = 2 where id = 1")
        conn.execute("insert into orders (user_id, customer_email, total) values (1, 'ann@x.org', 10), "
                     "(2, 'bo@x.org', 20), (2, 'bo@x.org', 5)")
        conn.execute("insert into items (order_id, label) select id, 'thing ' || id from orders")


RULES = """
[users]
email = "email"
name = "name"
[orders]
customer_email = "email"
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return path


KEY = derive_key(b"test secret")


def req(src: str, dst: str, rules: Path | None = None, **kw: object) -> SyncRequest:
    loaded = load_rules(rules) if rules else None
    return SyncRequest(source=Target(url=src, environment="staging", env_var="STAGING_DB_URL"),
                       target=Target(url=dst, environment=str(kw.pop("env", "development")), env_var="DEV_DB_URL"),
                       rules=loaded, rules_path=str(rules), key=KEY, **kw)  # type: ignore[arg-type]


def test_fk_order_chain_and_self_reference_and_sequences(make_db: Callable[[str], str], rules: Path,
                                                         tmp_path: Path) -> None:
    src, dst = make_db(SCHEMA), make_db(SCHEMA)
    seed(src)
    q(dst, "insert into users (id, email) values (99, 'old@x.org')")  # replaced: target truncated first
    result = sync(req(src, dst, rules), root=tmp_path)
    assert [t.name for t in result.tables] == ["users", "orders", "items"]
    assert {t.name: t.rows for t in result.tables} == {"users": 3, "orders": 3, "items": 3}
    assert q(dst, "select id, referrer_id from users order by id") == [(1, 2), (2, 3), (3, 1)]
    assert q(dst, "select count(*) from users where email like 'u%@example.invalid'") == [(3,)]
    # sequences follow the copied ids
    assert q(dst, "select nextval('users_id_seq'), nextval('orders_id_seq')") == [(4, 4)]
    entries = audit.read_entries(tmp_path)
    assert entries[-1]["action"] == "db sync" and entries[-1]["result"] == "ok"
    assert entries[-1]["details"]["tables"] == {"users": 3, "orders": 3, "items": 3}
    assert entries[-1]["details"]["anonymized"] == {"orders": ["customer_email"], "users": ["email", "name"]}


def test_anonymisation_is_deterministic_and_joins_survive(make_db: Callable[[str], str], rules: Path) -> None:
    src, dst, dst2 = make_db(SCHEMA), make_db(SCHEMA), make_db(SCHEMA)
    seed(src)
    sync(req(src, dst, rules))
    sync(req(src, dst2, rules))
    join = ("select u.id, u.email, u.name, o.total from users u join orders o on o.customer_email = u.email "
            "order by o.id")
    first, second = q(dst, join), q(dst2, join)
    assert first == second and len(first) == 3  # same output both runs; the join on emails survives
    emails = [r[1] for r in first]
    assert "ann@x.org" not in emails and all(str(e).endswith("@example.invalid") for e in emails)
    assert q(dst, "select count(distinct email) from users") == [(3,)]
    # another key gives other values
    other = req(src, dst2, rules)
    other.key = derive_key(b"another secret")
    sync(other)
    assert q(dst2, "select email from users order by id") != q(dst, "select email from users order by id")


def test_copy_text_escapes_round_trip(make_db: Callable[[str], str], tmp_path: Path) -> None:
    ddl = "create table t (id int primary key, a text, b text, tag text, raw bytea);"
    src, dst = make_db(ddl), make_db(ddl)
    nasty = ["tab\there", "new\nline", "back\\slash", "\\N", "cr\rlf", "", "\\.", "mixed\t\\\n\\t", "é ✓"]
    with psycopg.connect(src, autocommit=True) as conn:
        for i, s in enumerate(nasty):
            conn.execute("insert into t values (%s, %s, %s, %s, %s)", (i, s, None if i % 2 else s, s, s.encode()))
    path = tmp_path / "r.toml"
    path.write_text('[t]\ntag = "fixed:a\tb\\\\c"\nb = "keep"\n')
    sync(SyncRequest(source=Target(url=src), target=Target(url=dst), rules=load_rules(path), key=KEY))
    assert q(dst, "select id, a, b, raw from t order by id") == q(src, "select id, a, b, raw from t order by id")
    assert q(dst, "select distinct tag from t") == [("a\tb\\c",)]
    # hashing a column that holds escapes: decoded before hashing, so equal values hash alike
    path.write_text('[t]\na = "hash"\nb = "hash"\n')
    sync(SyncRequest(source=Target(url=src), target=Target(url=dst), rules=load_rules(path), key=KEY))
    rows = q(dst, "select a, b from t where b is not null")
    assert rows and all(a == b and len(str(a)) == 64 for a, b in rows)


def test_failure_rolls_back_everything(make_db: Callable[[str], str], rules: Path) -> None:
    src = make_db(SCHEMA)
    dst = make_db(SCHEMA.replace("label text", "label text check (label <> 'thing 3')"))
    seed(src)
    q(dst, "insert into users (id, email) values (7, 'keep@x.org')")
    q(dst, "insert into orders (id, user_id) values (70, 7)")
    with pytest.raises(DatabaseError) as err:
        sync(req(src, dst, rules))
    assert "items" in str(err.value) and "development" in str(err.value)
    assert q(dst, "select id, email from users") == [(7, "keep@x.org")]
    assert q(dst, "select id from orders") == [(70,)]


def test_target_missing_a_column_names_table_and_column(make_db: Callable[[str], str], rules: Path) -> None:
    src, dst = make_db(SCHEMA), make_db(SCHEMA.replace(", total numeric(10,2)", ""))
    seed(src)
    q(dst, "insert into users (id, email) values (7, 'keep@x.org')")
    with pytest.raises(DatabaseError, match=r"lacks column\(s\) the source has: orders\.total"):
        sync(req(src, dst, rules))
    assert q(dst, "select id from users") == [(7,)]


def test_rule_for_a_missing_column(make_db: Callable[[str], str], tmp_path: Path) -> None:
    src, dst = make_db(SCHEMA), make_db(SCHEMA)
    path = tmp_path / "r.toml"
    path.write_text('[users]\nemail = "email"\nname = "name"\nphone = "hash"\n')
    with pytest.raises(ConfigError, match=r"\[users\] has a rule for column phone"):
        sync(req(src, dst, path, allow_pii=True))
    path.write_text('[customers]\nemail = "email"\n')
    with pytest.raises(ConfigError, match="rules for table customers"):
        sync(req(src, dst, path, allow_pii=True))
    path.write_text('[users]\nemail = "scramble"\n')
    with pytest.raises(ConfigError, match='unknown rule "scramble"'):
        load_rules(path)


def test_pii_guard_lists_every_unruled_column(make_db: Callable[[str], str], tmp_path: Path) -> None:
    src, dst = make_db(SCHEMA), make_db(SCHEMA)
    seed(src)
    with pytest.raises(ConfigError) as err:
        sync(req(src, dst))
    assert "orders.customer_email, users.email, users.name" in str(err.value)
    assert q(dst, "select count(*) from users") == [(0,)]
    result = sync(req(src, dst, allow_pii=True))
    assert result.rows == 9 and q(dst, "select email from users where id = 1") == [("ann@x.org",)]


def test_production_target_needs_the_flag(make_db: Callable[[str], str], rules: Path) -> None:
    src, dst = make_db(SCHEMA), make_db(SCHEMA)
    seed(src)
    with pytest.raises(UsageError, match="production"):
        sync(req(src, dst, rules, env="production"))
    assert q(dst, "select count(*) from users") == [(0,)]
    assert sync(req(src, dst, rules, env="production", allow_production_target=True)).rows == 9


def test_dry_run_changes_nothing(make_db: Callable[[str], str], rules: Path, tmp_path: Path) -> None:
    src, dst = make_db(SCHEMA), make_db(SCHEMA)
    seed(src)
    q(dst, "insert into users (id, email) values (7, 'keep@x.org')")
    result = sync(req(src, dst, rules, dry_run=True, tables=["items", "orders", "users"]), root=tmp_path)
    data = result.to_json()
    assert [t["table"] for t in data["tables"]] == ["users", "orders", "items"]  # type: ignore[index]
    assert data["tables"][0]["rules"] == {"email": "email", "name": "name"}  # type: ignore[index]
    assert [t["rows"] for t in data["tables"]] == [3, 3, 3]  # type: ignore[index]
    assert q(dst, "select id from users") == [(7,)]
    assert audit.read_entries(tmp_path) == []


def test_outside_reference_and_cycles(make_db: Callable[[str], str], rules: Path) -> None:
    src, dst = make_db(SCHEMA), make_db(SCHEMA)
    with pytest.raises(DatabaseError, match=r"orders \(orders_user_id_fkey\)"):
        sync(req(src, dst, rules, tables=["users"]))
    cyc = ("create table a (id int primary key, b_id int); create table b (id int primary key, a_id int "
           "references a(id)); alter table a add constraint a_b foreign key (b_id) references b(id){};")
    src2, strict = make_db(cyc.format("")), make_db(cyc.format(""))
    with pytest.raises(DatabaseError, match=r"cycle.*a_b \(a -> b\)"):
        sync(SyncRequest(source=Target(url=src2), target=Target(url=strict)))
    deferrable = make_db(cyc.format(" deferrable"))
    q(src2, "insert into a values (1, null); insert into b values (1, 1); update a set b_id = 1")
    q(deferrable, "alter table b alter constraint b_a_id_fkey deferrable")
    assert sync(SyncRequest(source=Target(url=src2), target=Target(url=deferrable))).rows == 2
    assert q(deferrable, "select id, b_id from a") == [(1, 1)]
