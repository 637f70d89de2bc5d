"""``db forget``: erase (or anonymise) one person's rows across the tables ``[db.privacy]`` declares.

The person is found in ``subject_table`` by matching ``--subject`` against each of
``subject_columns`` as text (an id or an email). Their ``key`` then finds their rows in every table
of ``[db.privacy.tables]``. Everything happens in one transaction: the referencing tables first,
the subject's row last (deleted, or with ``--anonymize`` rewritten by the rules file or, without
one, by defaults for the personal-looking columns). The audit entry names the person only by the
keyed hash of ``--subject`` (the anonymisation key), never in clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from .. import audit
from ..errors import ConfigError, DatabaseError, UsageError
from . import tables as cat
from .anonymize import Anonymizer, Column, Rule, Rules, load_rules, looks_personal
from .connect import Target, connect, translate


@dataclass(frozen=True)
class Privacy:
    subject_table: str
    subject_columns: list[str]
    key: str = "id"
    tables: dict[str, str] = field(default_factory=dict)
    rules: Path | None = None
    where: str = "moai.toml"

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | None, root: Path, where: str) -> Privacy:
        if not data:
            raise ConfigError(
                f"db forget needs to know where a person's rows are, but {where} has no [db.privacy] table.",
                hint='Add [db.privacy] with subject_table = "users", subject_columns = ["id", "email"] and '
                     '[db.privacy.tables] orders = "user_id" (docs/data-sync.md).')
        rules = data.get("rules")
        return cls(subject_table=data["subject_table"], subject_columns=list(data["subject_columns"]),
                   key=data.get("key") or "id", tables=dict(data.get("tables") or {}),
                   rules=root / rules if rules else None, where=where)


@dataclass
class ForgetResult:
    target: str
    subject_hash: str
    mode: str  # delete | anonymize
    dry_run: bool
    found: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "target": self.target, "mode": self.mode, "subject_hash": self.subject_hash,
                "subjects_found": self.found, "tables": self.counts}


def _table(conn: psycopg.Connection[Any], name: str, key: str, privacy: Privacy) -> cat.Table:
    table = cat.find_table(conn, name)
    if table is None:
        raise ConfigError(f"{privacy.where}: `{key}` names table {name}, which the database does not have.",
                          hint=f"Fix the table name under [db.privacy] in {privacy.where}.")
    return table


def _columns(conn: psycopg.Connection[Any], table: cat.Table, names: list[str], key: str,
             privacy: Privacy) -> dict[str, Column]:
    cols = {c.name: c for c in cat.columns(conn, table)}
    missing = [n for n in names if n not in cols]
    if missing:
        raise ConfigError(f"{privacy.where}: `{key}` names column {', '.join(missing)}, which table "
                          f"{table.qualified} does not have.",
                          hint=f"Its columns are: {', '.join(cols)}.")
    return cols


def forget(root: Path, target: Target, privacy: Privacy, subject: str, *, key: bytes, anonymize: bool = False,
           dry_run: bool = False, yes: bool = False, environ: Mapping[str, str] | None = None) -> ForgetResult:
    if target.environment == "production" and not yes and not dry_run:
        raise UsageError(f"db forget changes the production database ({target.label}).",
                         hint="Check with --dry-run first, then add --yes.")
    if not subject.strip():
        raise UsageError("--subject is empty.", hint="Pass the person's id or email: --subject ann@example.org")
    anonymizer = Anonymizer(key)
    rules: Rules = load_rules(privacy.rules) if anonymize and privacy.rules else {}
    result = ForgetResult(target=target.label, subject_hash=anonymizer.subject_hash(subject),
                          mode="anonymize" if anonymize else "delete", dry_run=dry_run)
    conn = connect(target)
    try:
        conn.execute("begin")
        try:
            _forget(conn, privacy, subject, anonymizer, rules, anonymize, dry_run, result)
            conn.execute("rollback" if dry_run else "commit")
        except psycopg.Error as exc:
            conn.execute("rollback")
            raise translate(exc, target, "erasing the subject's rows") from exc
        except BaseException:
            conn.execute("rollback")
            raise
    finally:
        conn.close()
    if not dry_run:
        try:
            audit.record(root, "db forget", environment=target.environment, target=target.label,
                         details={"subject_hash": result.subject_hash, "mode": result.mode,
                                  "subjects_found": result.found, "tables": result.counts}, environ=environ)
        except audit.AuditError as exc:
            raise DatabaseError(f"The erasure committed but its audit entry could not be written: {exc}",
                                hint="Check .moai/audit/ (moai-adk audit verify).") from exc
    return result


def _forget(conn: psycopg.Connection[Any], privacy: Privacy, subject: str, anonymizer: Anonymizer, rules: Rules,
            anonymize: bool, dry_run: bool, result: ForgetResult) -> None:
    subject_table = _table(conn, privacy.subject_table, "db.privacy.subject_table", privacy)
    subject_cols = _columns(conn, subject_table, [*privacy.subject_columns, privacy.key],
                            "db.privacy.subject_columns", privacy)
    related: list[tuple[cat.Table, str, dict[str, Column]]] = []
    for name, column in privacy.tables.items():
        table = _table(conn, name, f"db.privacy.tables.{name}", privacy)
        related.append((table, column, _columns(conn, table, [column], f"db.privacy.tables.{name}", privacy)))
    where = " or ".join(f"{cat.quote(c)}::text = %s" for c in privacy.subject_columns)
    keys = [r[0] for r in conn.execute(
        f"select {cat.quote(privacy.key)} from {subject_table.ident} where {where} for update",
        [subject] * len(privacy.subject_columns)).fetchall()]
    result.found = len(keys)
    if len(keys) > 1:
        raise DatabaseError(f"--subject matches {len(keys)} rows of {subject_table.qualified} (through "
                            f"{', '.join(privacy.subject_columns)}); db forget erases one person at a time.",
                            hint="Pass a value that identifies one person, such as their id.")
    for table, column, cols in related:
        match = f"{cat.quote(column)} = any(%s)"
        if anonymize:
            protect = {column}
            result.counts[table.qualified] = _anonymize(conn, table, cols, match, keys, rules, anonymizer, protect,
                                                        privacy, dry_run)
        else:
            result.counts[table.qualified] = _delete(conn, table, match, keys, dry_run)
    match = f"{cat.quote(privacy.key)} = any(%s)"
    if anonymize:
        result.counts[subject_table.qualified] = _anonymize(conn, subject_table, subject_cols, match, keys, rules,
                                                            anonymizer, {privacy.key}, privacy, dry_run)
    else:
        result.counts[subject_table.qualified] = _delete(conn, subject_table, match, keys, dry_run)


def _delete(conn: psycopg.Connection[Any], table: cat.Table, match: str, keys: list[Any], dry_run: bool) -> int:
    if dry_run:
        row = conn.execute(f"select count(*) from {table.ident} where {match}", (keys,)).fetchone()
        return int(row[0]) if row else 0
    return conn.execute(f"delete from {table.ident} where {match}", (keys,)).rowcount


def _default_rule(col: Column) -> Rule:
    name = col.name.lower()
    if "mail" in name and col.base in ("text", "character varying", "citext"):
        return Rule("email")
    if "name" in name and col.base in ("text", "character varying", "citext"):
        return Rule("name")
    return Rule("hash") if col.not_null else Rule("null")


def _anonymize(conn: psycopg.Connection[Any], table: cat.Table, cols: dict[str, Column], match: str,
               keys: list[Any], rules: Rules, anonymizer: Anonymizer, protect: set[str], privacy: Privacy,
               dry_run: bool) -> int:
    ruled = rules.get(table.qualified)
    if ruled is None:
        ruled = {c.name: _default_rule(c) for c in cols.values() if looks_personal(c.name)}
    where = f"{privacy.rules}: [{table.qualified}]" if privacy.rules else f"db forget on {table.qualified}"
    fns = {}
    for name, rule in ruled.items():
        if name in protect:
            continue  # the key and references stay, or the person's other rows would lose their link
        if name not in cols:
            raise ConfigError(f"{where} has a rule for column {name}, which table {table.qualified} does "
                              "not have.", hint="Fix the column name or remove the line.")
        fn = anonymizer.function(rule, cols[name], f"{where} {name}")
        if fn is not None:
            fns[name] = fn
    if not fns:
        row = conn.execute(f"select count(*) from {table.ident} where {match}", (keys,)).fetchone()
        return int(row[0]) if row else 0
    names = list(fns)
    select = ", ".join(f"{cat.quote(n)}::text" for n in names)
    rows = conn.execute(f"select ctid::text, {select} from {table.ident} where {match}", (keys,)).fetchall()
    if dry_run:
        return len(rows)
    sets = ", ".join(f"{cat.quote(n)} = cast(%s as {cols[n].type})" for n in names)
    for ctid, *values in rows:
        new = []
        for n, v in zip(names, values, strict=True):
            out = fns[n](None if v is None else str(v).encode("utf-8"))
            new.append(None if out is None else out.decode("utf-8"))
        conn.execute(f"update {table.ident} set {sets} where ctid = %s::tid", [*new, ctid])
    return len(rows)
