"""The files a Firebase backend is declared in: rules files and ``firestore.indexes.json`` (the Firebase
CLI's format), turned into state keys.

    ("rules", "firestore")                 -> the rules file's text
    ("rules", "storage/<bucket>")          -> the Storage rules file's text
    ("firestore_index", "orders (collection) user_id asc, created_at desc")
                                           -> {collectionGroup, queryScope, fields}
    ("firestore_field", "orders.created_at")
                                           -> {indexes: [{order|arrayConfig, queryScope}], ttl}

The same normal forms are made from the Firestore Admin API's answers, so a file and a live index
that mean the same thing compare equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError

SCOPES = ("COLLECTION", "COLLECTION_GROUP")
ORDERS = ("ASCENDING", "DESCENDING")
_INDEX_KEYS = {"collectionGroup", "collectionId", "queryScope", "fields", "density", "apiScope"}
_FIELD_KEYS = {"fieldPath", "order", "arrayConfig", "vectorConfig"}
_OVERRIDE_KEYS = {"collectionGroup", "collectionId", "fieldPath", "ttl", "indexes"}
_OVERRIDE_INDEX_KEYS = {"order", "arrayConfig", "queryScope"}


def read_text(root: Path, rel: str, what: str) -> str:
    path = root / rel
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} file {rel} (from moai.toml [backend.firebase]) does not exist in {root}.",
                          hint=f"Create {rel}, or point [backend.firebase] at the right file ('\"\"' leaves it "
                               "unmanaged).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {what} file {path}: {exc}.", hint="Check its permissions and encoding (UTF-8).") from exc


def index_field(f: dict[str, Any]) -> dict[str, Any]:
    out = {"fieldPath": f["fieldPath"]}
    for key in ("order", "arrayConfig", "vectorConfig"):
        if key in f:
            out[key] = f[key]
    return out


def index_name(index: dict[str, Any]) -> str:
    parts = []
    for f in index["fields"]:
        how = f.get("order") or f.get("arrayConfig") or ("vector" if "vectorConfig" in f else "?")
        parts.append(f"{f['fieldPath']} {str(how).lower().replace('ascending', 'asc').replace('descending', 'desc')}")
    return f"{index['collectionGroup']} ({index['queryScope'].lower()}) " + ", ".join(parts)


def normal_index(collection_group: str, query_scope: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    kept = [index_field(f) for f in fields]
    # Firestore appends the document id (__name__) to composite indexes it answers; the files leave it out.
    if len(kept) > 1 and kept[-1]["fieldPath"] == "__name__" and set(kept[-1]) == {"fieldPath", "order"}:
        kept = kept[:-1]
    return {"collectionGroup": collection_group, "queryScope": query_scope, "fields": kept}


def override_value(indexes: list[dict[str, Any]], ttl: bool) -> dict[str, Any]:
    norm = [{k: i[k] for k in ("order", "arrayConfig", "queryScope") if k in i} for i in indexes]
    return {"indexes": sorted(norm, key=lambda i: json.dumps(i, sort_keys=True)), "ttl": ttl}


def _fail(rel: str, where: str, what: str) -> ConfigError:
    return ConfigError(f"{rel}: {where}: {what}.",
                       hint=f"Fix {rel} (the Firebase CLI's firestore.indexes.json format: "
                            "{ \"indexes\": [...], \"fieldOverrides\": [...] }).")


def _obj(value: Any, keys: set[str], rel: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(rel, where, "must be an object")
    extra = sorted(set(value) - keys)
    if extra:
        raise _fail(rel, f"{where}.{extra[0]}", f"is not a known key (known: {', '.join(sorted(keys))})")
    return value


def _str(value: Any, rel: str, where: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(rel, where, "must be a non-empty string")
    if choices and value not in choices:
        raise _fail(rel, where, f"'{value}' is not one of {', '.join(choices)}")
    return value


def _group(item: dict[str, Any], rel: str, where: str) -> str:
    return _str(item.get("collectionGroup", item.get("collectionId")), rel, f"{where}.collectionGroup")


def read_indexes(root: Path, rel: str) -> dict[tuple[str, str], Any]:
    """The state of ``firestore.indexes.json``: one key per index and per field override."""
    text = read_text(root, rel, "The Firestore indexes")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{rel}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}).",
                          hint=f"Fix the syntax at line {exc.lineno} of {rel}.") from exc
    data = _obj(data, {"indexes", "fieldOverrides"}, rel, "(top level)")
    state: dict[tuple[str, str], Any] = {}
    for n, raw in enumerate(data.get("indexes") or []):
        where = f"indexes[{n}]"
        item = _obj(raw, _INDEX_KEYS, rel, where)
        fields = item.get("fields")
        if not isinstance(fields, list) or not fields:
            raise _fail(rel, f"{where}.fields", "must list at least one field")
        checked = []
        for k, f in enumerate(fields):
            fw = f"{where}.fields[{k}]"
            f = _obj(f, _FIELD_KEYS, rel, fw)
            _str(f.get("fieldPath"), rel, f"{fw}.fieldPath")
            if sum(1 for key in ("order", "arrayConfig", "vectorConfig") if key in f) != 1:
                raise _fail(rel, fw, "needs exactly one of order, arrayConfig, vectorConfig")
            if "order" in f:
                _str(f["order"], rel, f"{fw}.order", ORDERS)
            if "arrayConfig" in f:
                _str(f["arrayConfig"], rel, f"{fw}.arrayConfig", ("CONTAINS",))
            checked.append(f)
        index = normal_index(_group(item, rel, where), _str(item.get("queryScope", "COLLECTION"), rel,
                                                           f"{where}.queryScope", SCOPES), checked)
        key = ("firestore_index", index_name(index))
        if key in state:
            raise _fail(rel, where, f"repeats the index {key[1]}")
        state[key] = index
    for n, raw in enumerate(data.get("fieldOverrides") or []):
        where = f"fieldOverrides[{n}]"
        item = _obj(raw, _OVERRIDE_KEYS, rel, where)
        group = _group(item, rel, where)
        path = _str(item.get("fieldPath"), rel, f"{where}.fieldPath")
        ttl = item.get("ttl", False)
        if not isinstance(ttl, bool):
            raise _fail(rel, f"{where}.ttl", "must be true or false")
        indexes = item.get("indexes", [])
        if not isinstance(indexes, list):
            raise _fail(rel, f"{where}.indexes", "must be a list")
        for k, i in enumerate(indexes):
            iw = f"{where}.indexes[{k}]"
            i = _obj(i, _OVERRIDE_INDEX_KEYS, rel, iw)
            if ("order" in i) == ("arrayConfig" in i):
                raise _fail(rel, iw, "needs exactly one of order, arrayConfig")
            _str(i.get("queryScope", "COLLECTION"), rel, f"{iw}.queryScope", SCOPES)
        state[("firestore_field", f"{group}.{path}")] = override_value(
            [{"queryScope": "COLLECTION", **i} for i in indexes], ttl)
    return state


def live_indexes(indexes: list[dict[str, Any]]) -> tuple[dict[tuple[str, str], Any], dict[str, str]]:
    """The state of the API's index listing, and each key's index resource name (to delete it)."""
    state: dict[tuple[str, str], Any] = {}
    names: dict[str, str] = {}
    for ix in indexes:
        parts = str(ix.get("name", "")).split("/")
        if len(parts) < 8 or not ix.get("fields"):  # single-field indexes are field overrides' business
            continue
        index = normal_index(parts[5], str(ix.get("queryScope", "COLLECTION")), list(ix["fields"]))
        key = ("firestore_index", index_name(index))
        state[key] = index
        names[key[1]] = str(ix["name"])
    return state, names


def live_fields(fields: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    state: dict[tuple[str, str], Any] = {}
    for f in fields:
        parts = str(f.get("name", "")).split("/")
        if len(parts) < 8 or parts[7] == "*":  # the database-wide defaults
            continue
        config = f.get("indexConfig") or {}
        overridden = "indexes" in config and not config.get("usesAncestorConfig", False)
        if not overridden and "ttlConfig" not in f:
            continue
        flat = []
        for ix in config.get("indexes") or [] if overridden else []:
            for field in ix.get("fields") or [{}]:
                flat.append({**{k: v for k, v in field.items() if k in ("order", "arrayConfig")},
                             "queryScope": ix.get("queryScope", "COLLECTION")})
        state[("firestore_field", f"{parts[5]}.{parts[7]}")] = override_value(flat, "ttlConfig" in f)
    return state


def override_indexes(field_path: str, value: dict[str, Any]) -> list[dict[str, Any]]:
    """A field override's indexes as the Firestore Admin API takes them."""
    return [{"queryScope": i.get("queryScope", "COLLECTION"),
             "fields": [{"fieldPath": field_path, **{k: i[k] for k in ("order", "arrayConfig") if k in i}}]}
            for i in value["indexes"]]
