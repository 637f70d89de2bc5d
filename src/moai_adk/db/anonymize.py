"""Anonymisation rules (a TOML file of ``[table] column = "rule"``), the key, the PII guard.

Rules: ``hash`` (keyed BLAKE2b-256 of the value, shaped to the column's type), ``email`` (a fake
address made from that hash), ``name`` (a fake name picked by that hash), ``null``,
``fixed:<value>`` and ``keep``. Every rule is deterministic under one key, so the same input gives
the same output in every table and every run: a join on anonymised columns survives.

The key: ``MOAI_ANONYMIZE_KEY`` when set (share it in CI so every machine anonymises alike), else a
random per-project secret in ``.moai/anonymize.key`` (0600), created on first use. The HMAC key is
derived from it, so the secret itself never meets a value.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path

from ..errors import ConfigError
from .copytext import FieldFn, Value

KEY_ENV = "MOAI_ANONYMIZE_KEY"
KEY_FILE = Path(".moai") / "anonymize.key"
KINDS = ("hash", "email", "name", "null", "fixed", "keep")
TEXT_TYPES = {"text", "character varying", "character", "citext", "name"}
INT_BITS = {"bigint": 63, "integer": 31, "smallint": 15}
EMAIL_DOMAIN = "example.invalid"  # RFC 2606: never delivered

_FIRST = ("Alex", "Sam", "Robin", "Kim", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Avery", "Riley",
          "Quinn", "Harper", "Rowan", "Sage", "Noa", "Eli", "Mika", "Yuki", "Lena", "Omar", "Ines", "Ravi",
          "Sofia", "Mateo", "Aiko", "Nadia", "Luca", "Ada", "Tomas", "Zara", "Hugo")
_LAST = ("Smith", "Garcia", "Kim", "Novak", "Silva", "Okafor", "Jensen", "Rossi", "Tanaka", "Dubois", "Kowalski",
         "Haddad", "Larsen", "Moreau", "Costa", "Ivanova", "Nakamura", "Fischer", "Mendes", "Osei", "Varga",
         "Lindqvist", "Petrov", "Yilmaz", "Chen", "Murphy", "Sato", "Reyes", "Bauer", "Ahmed", "Weber", "Park")

_PII_TOKENS = {"email", "mail", "phone", "mobile", "tel", "name", "firstname", "lastname", "fullname", "surname",
               "username", "address", "street", "ip", "ssn", "passport", "dob", "iban"}
_PII_PREFIXES = ("birth", "ssn", "email", "phone")


@dataclass(frozen=True)
class Rule:
    kind: str
    value: str | None = None  # fixed:<value>

    def __str__(self) -> str:
        return f"fixed:{self.value}" if self.kind == "fixed" else self.kind


@dataclass(frozen=True)
class Column:
    """What a rule needs to know about a column."""

    name: str
    type: str  # format_type(), e.g. "character varying(40)"
    base: str  # the type without modifiers, e.g. "character varying"
    not_null: bool = False
    max_length: int | None = None


Rules = dict[str, dict[str, Rule]]  # table -> column -> rule


def looks_personal(column: str) -> bool:
    """Whether a column's name suggests personal data (email, phone, name, address, ip, birth..., ssn...)."""
    name = column.lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", name) if t]
    joined = "".join(tokens)
    if any(t in _PII_TOKENS for t in tokens) or joined in _PII_TOKENS:
        return True
    return any(t.startswith(_PII_PREFIXES) for t in tokens) or joined.endswith(("email", "address", "phone"))


def parse_rule(text: object, where: str) -> Rule:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: a rule is a string, not {type(text).__name__}.",
                          hint='Use one of "hash", "email", "name", "null", "fixed:<value>", "keep".')
    if text.startswith("fixed:"):
        return Rule("fixed", text[len("fixed:"):])
    if text in KINDS and text != "fixed":
        return Rule(text)
    raise ConfigError(f'{where}: unknown rule "{text}".',
                      hint='Use one of "hash", "email", "name", "null", "fixed:<value>", "keep".')


def load_rules(path: Path) -> Rules:
    """``[table] column = "rule"`` from a TOML file; ``[schema.table]`` is written ``["schema.table"]``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the anonymisation rules {path} (--anonymize): {exc.strerror}.",
                          hint="Pass the path of an existing TOML file.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The anonymisation rules {path} (--anonymize) are not valid TOML: {exc}.",
                          hint='Write one table per database table: [users] email = "email".') from exc
    rules: Rules = {}
    for table, cols in data.items():
        if not isinstance(cols, dict):
            raise ConfigError(f"{path}: `{table}` must be a table of column rules, e.g. [{table}] email = \"email\".",
                              hint=f'Write [{table}] and one `column = "rule"` line per column under it.')
        rules[table] = {col: parse_rule(rule, f"{path}: [{table}] {col}") for col, rule in cols.items()}
    return rules


def project_secret(root: Path | None, environ: Mapping[str, str]) -> bytes:
    """The secret the HMAC key comes from: $MOAI_ANONYMIZE_KEY, else ``.moai/anonymize.key`` (created)."""
    value = environ.get(KEY_ENV, "")
    if value:
        return value.encode("utf-8")
    if root is None:
        raise ConfigError(f"Anonymisation needs a key: set {KEY_ENV} or run inside a project (moai.toml).",
                          hint=f"export {KEY_ENV}=$(python3 -c 'import secrets; print(secrets.token_hex(32))')")
    path = root / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_hex(32).encode("ascii") + b"\n")
    return path.read_bytes().strip()


def derive_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"moai-adk/anonymize/v1", hashlib.sha256).digest()


class Anonymizer:
    """Builds the per-column functions of the rules under one key."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def digest(self, value: bytes) -> bytes:
        """Keyed BLAKE2b-256: a PRF like HMAC-SHA256, and about 3x faster per call in CPython (one call,
        one pass), which is most of the cost of hashing a column of a large table."""
        return blake2b(value, key=self.key, digest_size=32).digest()

    def subject_hash(self, subject: str) -> str:
        """How the audit log names a person: the keyed hash (HMAC-SHA256), never the value."""
        return hmac.digest(self.key, subject.encode("utf-8"), "sha256").hex()

    def function(self, rule: Rule, col: Column, where: str) -> FieldFn | None:
        """The function a COPY stream applies to ``col`` (``None``: keep), or an error naming the column."""
        kind = rule.kind
        if kind == "keep":
            return None
        if kind == "null":
            if col.not_null:
                raise ConfigError(f'{where}: rule "null" for NOT NULL column {col.name}.',
                                  hint='Use "hash", "fixed:<value>" or "keep" for it.')
            return lambda v: None
        if kind == "fixed":
            fixed = (rule.value or "").encode("utf-8")
            return lambda v: None if v is None else fixed
        if kind in ("email", "name") and col.base not in TEXT_TYPES:
            raise ConfigError(f'{where}: rule "{kind}" needs a text column; {col.name} is {col.type}.',
                              hint='Use "hash", "null" or "fixed:<value>" for it.')
        if kind == "email":
            return self._fit(col, lambda v: f"u{self.digest(v or b'').hex()[:16]}@{EMAIL_DOMAIN}".encode())
        if kind == "name":
            return self._fit(col, self._name_fn(col.name))
        return self._hash_fn(col, where)

    def _fit(self, col: Column, fn: FieldFn) -> FieldFn:
        limit = col.max_length

        def apply(v: Value) -> Value:
            if v is None:
                return None
            out = fn(v)
            return out[:limit] if limit and out is not None else out
        return apply

    def _name_fn(self, column: str) -> FieldFn:
        lower = column.lower()
        part = "first" if "first" in lower or "given" in lower else \
            "last" if "last" in lower or "surname" in lower or "family" in lower else "full"

        def fake(v: Value) -> Value:
            d = self.digest(v or b"")
            first, last = _FIRST[d[0] % len(_FIRST)], _LAST[d[1] % len(_LAST)]
            text = first if part == "first" else last if part == "last" else f"{first} {last}"
            return text.encode("utf-8")
        return fake

    def _hash_fn(self, col: Column, where: str) -> FieldFn:
        base = col.base
        if base in TEXT_TYPES:
            key = self.key
            if col.max_length is None or col.max_length >= 64:  # the hot path of a big table: no wrapper
                def hex_hash(v: Value) -> Value:
                    return None if v is None else blake2b(v, key=key, digest_size=32).hexdigest().encode()
                hex_hash.escape_free = True  # type: ignore[attr-defined]  # hex digits need no COPY escaping
                return hex_hash
            return self._fit(col, lambda v: blake2b(v or b"", key=key, digest_size=32).hexdigest().encode())
        if base == "uuid":
            def as_uuid(v: Value) -> Value:
                h = self.digest(v or b"").hex()
                return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}".encode()
            return self._fit(col, as_uuid)
        if base in INT_BITS:
            shift = 64 - INT_BITS[base]
            return self._fit(col, lambda v: str(int.from_bytes(self.digest(v or b"")[:8], "big") >> shift).encode())
        if base in ("inet", "cidr"):
            return self._fit(col, lambda v: "10.{}.{}.{}".format(*self.digest(v or b"")[:3]).encode())
        if base == "date":
            def as_date(v: Value) -> Value:
                n = int.from_bytes(self.digest(v or b"")[:4], "big") % (65 * 365)
                return (datetime.date(1940, 1, 1) + datetime.timedelta(days=n)).isoformat().encode()
            return self._fit(col, as_date)
        raise ConfigError(f'{where}: rule "hash" cannot produce a value of type {col.type} (column {col.name}).',
                          hint='Use "null", "fixed:<value>" or "keep" for it; "hash" takes text, uuid, integer, '
                               'inet and date columns.')
