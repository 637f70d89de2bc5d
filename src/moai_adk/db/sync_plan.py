"""The plan of a ``db sync``: which tables, in which order, which columns, which rules.

Everything that can be wrong with a sync is found here, before a row moves: a table or column the
target lacks, a rule for a column that does not exist, a personal-looking column without a rule
(the PII guard), a cycle of foreign keys that cannot be deferred, a table outside the sync that
references one inside it (TRUNCATE would refuse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from ..errors import ConfigError, DatabaseError, UsageError
from . import tables as cat
from .anonymize import Anonymizer, Column, Rule, Rules, looks_personal
from .connect import Target
from .copytext import FieldFn


@dataclass
class TablePlan:
    source: cat.Table
    target: cat.Table
    columns: list[Column]
    rules: dict[str, Rule] = field(default_factory=dict)  # column -> rule (keep included)
    fns: dict[int, FieldFn] = field(default_factory=dict)  # column index -> transform
    rows: int = 0  # estimate before the copy, rows copied after
    exact: bool = False

    @property
    def name(self) -> str:
        return self.source.qualified

    def column_list(self) -> str:
        return ", ".join(cat.quote(c.name) for c in self.columns)

    def to_json(self) -> dict[str, object]:
        return {"table": self.name, "rows": self.rows, "rows_exact": self.exact,
                "columns": [c.name for c in self.columns],
                "rules": {col: str(rule) for col, rule in self.rules.items()}}


@dataclass
class SyncPlan:
    tables: list[TablePlan]  # in copy order

    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]


def check_targets(source: Target, target: Target, allow_production_target: bool) -> None:
    if source.url == target.url:
        raise UsageError(f"The source and the target of the sync are the same database ({target.label}).",
                         hint="Pass two different environments to --from and --to.")
    if target.environment == "production" and not allow_production_target:
        raise UsageError(
            "db sync would replace the contents of the production database with another environment's rows "
            f"({target.label}).",
            hint="If that is really meant, add --allow-production-target (the tables synced are truncated first).")


def _missing_tables(names: list[str], found: list[cat.Table], side: str, target: Target) -> None:
    have = {t.qualified for t in found} | {f"{t.schema}.{t.name}" for t in found}
    missing = [n for n in names if n not in have]
    if missing:
        raise DatabaseError(f"The {side} database ({target.label}) has no table {', '.join(missing)}.",
                            hint="Check the names given to --tables (schema.table for a schema other than public)"
                                 + (", or run `moai-adk db push` on the target first." if side == "target" else "."))


def build_plan(src: psycopg.Connection[Any], dst: psycopg.Connection[Any], source: Target, target: Target,
               names: list[str] | None, rules: Rules | None, rules_path: str, anonymizer: Anonymizer | None,
               allow_pii: bool) -> SyncPlan:
    src_tables = cat.find_tables(src, names)
    if names is not None:
        _missing_tables(names, src_tables, "source", source)
    if not src_tables:
        raise DatabaseError(f"The source database ({source.label}) has no table in schema public to sync.",
                            hint="Name the tables with --tables schema.table.")
    wanted = [t.qualified for t in src_tables]
    dst_tables = cat.find_tables(dst, wanted)
    _missing_tables(wanted, dst_tables, "target", target)
    dst_by_name = {t.qualified: t for t in dst_tables}

    rules = rules or {}
    _check_rule_tables(src, rules, rules_path, source)
    missing_cols: list[str] = []
    unruled: list[str] = []
    plans: dict[str, TablePlan] = {}
    for st in src_tables:
        dt = dst_by_name[st.qualified]
        src_cols = cat.columns(src, st)
        dst_cols = {c.name: c for c in cat.columns(dst, dt)}
        missing_cols += [f"{st.qualified}.{c.name}" for c in src_cols if c.name not in dst_cols]
        cols = [dst_cols.get(c.name, c) for c in src_cols]
        table_rules = rules.get(st.qualified) or rules.get(f"{st.schema}.{st.name}") or {}
        names_here = {c.name for c in src_cols}
        unknown = [c for c in table_rules if c not in names_here]
        if unknown:
            raise ConfigError(
                f"{rules_path}: [{st.qualified}] has a rule for column {', '.join(unknown)}, which table "
                f"{st.qualified} of the source ({source.label}) does not have.",
                hint=f"Fix the column name or remove the line; its columns are: {', '.join(sorted(names_here))}.")
        plan = TablePlan(source=st, target=dt, columns=cols, rules=dict(table_rules))
        for index, col in enumerate(cols):
            rule = table_rules.get(col.name)
            if rule is None:
                if looks_personal(col.name):
                    unruled.append(f"{st.qualified}.{col.name}")
                continue
            if anonymizer is not None:
                fn = anonymizer.function(rule, col, f"{rules_path}: [{st.qualified}] {col.name}")
                if fn is not None:
                    plan.fns[index] = fn
        plans[st.qualified] = plan
    if missing_cols:
        raise DatabaseError(
            f"The target database ({target.label}) lacks column(s) the source has: {', '.join(missing_cols)}. "
            "Nothing was copied.",
            hint="Apply the same migrations to both (`moai-adk db push --env <target>`), or leave the table out "
                 "with --tables.")
    if unruled and not allow_pii:
        raise ConfigError(
            f"These columns look personal and have no anonymisation rule: {', '.join(unruled)}. Nothing was "
            "copied.",
            hint=f"Give each a rule in {rules_path if rules_path != '--anonymize' else 'a rules file passed to --anonymize'}"
                 ' (hash, email, name, null, fixed:<value>, or "keep" to copy it as it is), or pass --allow-pii.')

    fks = cat.foreign_keys(dst)
    outside = cat.outside_references(fks, dst_tables, cat.table_names(dst))
    if outside:
        raise DatabaseError(
            f"On the target ({target.label}) these tables reference a table being synced but are not synced "
            f"themselves: {', '.join(outside)}; emptying the synced tables would break their references.",
            hint="Add them to --tables, or leave out the tables they reference.")
    order = cat.copy_order(dst_tables, fks)
    return SyncPlan(tables=[plans[t.qualified] for t in order])


def _check_rule_tables(src: psycopg.Connection[Any], rules: Rules, rules_path: str, source: Target) -> None:
    if not rules:
        return
    found = cat.find_tables(src, list(rules))
    have = {t.qualified for t in found} | {f"{t.schema}.{t.name}" for t in found}
    missing = [name for name in rules if name not in have]
    if missing:
        raise ConfigError(f"{rules_path} has rules for table {', '.join(missing)}, which the source "
                          f"({source.label}) does not have.",
                          hint="Fix the table names ([schema.table] for a schema other than public) or remove them.")


def estimate_rows(src: psycopg.Connection[Any], plan: SyncPlan) -> None:
    """Row counts for a dry run: pg_class.reltuples where the table was analysed, else count(*)."""
    for t in plan.tables:
        if t.source.estimate >= 0:
            t.rows, t.exact = t.source.estimate, False
        else:
            t.rows, t.exact = cat.count_rows(src, t.source), True
