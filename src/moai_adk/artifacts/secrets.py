"""The deploy secret guard: file names and token formats that must not be published.

Two checks per file:

* its name (case-insensitive): ``.env`` and ``*.env`` files, ``env``, ``credentials``,
  ``.htpasswd``, ``.netrc``, SSH and TLS private keys, package-registry configs,
  service-account JSON files;
* its content, when it is a text asset (of any size): private keys (PEM) and the
  well-known token formats in ``RULES`` (AWS, GitHub, Stripe, Slack, GitLab, npm,
  Supabase secret keys and ``service_role`` JWTs).

The content check is a literal-prefix prefilter first and regular expressions only on
the files it flags: every rule names the literal its matches begin with (or, for JWTs,
must contain), and one pass finds all of them. In a snapshot that pass is Hyperscan over
batches of files (``SecretScanner``: one vectored scan per ~8 MB of files, on its own
thread, which runs without the GIL while the main thread hashes); ``scan_secret`` alone,
or without Hyperscan, tests each literal with ``bytes.__contains__``.

A third check runs in the same pass when the caller knows secret values (the deploy
pipeline passes the environment's secrets store, see docs/secrets.md): each value of at
least ``MIN_VALUE_SCAN`` characters, with the forms a build gives it (JSON-escaped,
URL-encoded, base64), is one more literal of the same Hyperscan database, so a file that
holds one is flagged by the pass that looks for token formats. Shorter values are not
scanned: a 4-character value such as ``true`` or ``8080`` would flag ordinary files.
"""


from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

SECRET_NAME = re.compile(
    r"(?:^|/)(?:[^/]*\.env|\.env\.[^/]+|env|credentials(?:\.[a-z0-9]+)?|\.htpasswd|\.netrc|\.git-credentials"
    r"|\.pgpass|id_(?:rsa|dsa|ecdsa|ed25519)|[^/]*\.(?:pem|key|p12|pfx|jks|keystore)|\.npmrc|\.pypirc"
    r"|service[-_]?account[^/]*\.json)$",
    re.IGNORECASE,
)
SECRET_NAME_OK = re.compile(r"(?:^|/)\.env\.(?:example|sample|template|defaults|dist)$", re.IGNORECASE)
# Not text: never scanned for tokens (their names still are).
BINARY_EXT = frozenset(
    ".png .jpg .jpeg .gif .webp .avif .ico .bmp .tif .tiff .woff .woff2 .ttf .otf .eot .mp4 .webm .mov "
    ".mp3 .wav .ogg .flac .pdf .zip .gz .br .zst .wasm .glb .gltf .bin".split()
)


def _b64_fragments(word: bytes) -> tuple[bytes, ...]:
    """The base64 (and base64url) text ``word`` becomes at each of the three byte alignments."""
    out: dict[bytes, None] = {}
    for k in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * k + word + b"\0\0\0")
            out[text[-(-k * 8 // 6):((k + len(word)) * 8) // 6]] = None
    return tuple(out)


def _jwt_role(token: bytes) -> bool:
    """Whether a JWT's payload says ``"role": "service_role"`` (Supabase's key that bypasses RLS)."""
    try:
        payload = token.split(b".")[1]
        claims: Any = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and claims.get("role") == "service_role"


def is_supabase_secret_key(value: str) -> bool:
    """Whether ``value`` is a Supabase key that bypasses row-level security: an ``sb_secret_`` key or a JWT
    whose role is ``service_role`` (what must never reach a browser)."""
    raw = value.strip().encode("utf-8", "replace")
    return raw.startswith(b"sb_secret_") or (raw.startswith(b"eyJ") and _jwt_role(raw))


def _not_example(token: bytes) -> bool:
    return not token.upper().endswith(b"EXAMPLE")  # AWS's documented AKIAIOSFODNN7EXAMPLE and the like


@dataclass(frozen=True)
class Rule:
    """One secret format: what the error says, the literals it starts with (or contains), its regex."""

    what: str
    prefixes: tuple[bytes, ...]
    pattern: re.Pattern[bytes]
    check: Callable[[bytes], bool] | None = None


RULES: tuple[Rule, ...] = (
    Rule("a private key", (b"PRIVATE KEY-----",),
         re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    Rule("an AWS access key ID", (b"AKIA", b"ASIA"),
         re.compile(rb"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"), _not_example),
    Rule("a GitHub token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
         re.compile(rb"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    Rule("a GitHub fine-grained token", (b"github_pat_",), re.compile(rb"github_pat_[A-Za-z0-9_]{59,}")),
    Rule("a Stripe secret key", (b"sk_live_", b"rk_live_"),
         re.compile(rb"(?<![A-Za-z0-9])[sr]k_live_[A-Za-z0-9]{20,}")),
    Rule("a Slack token", (b"xoxb-", b"xoxp-", b"xoxa-", b"xoxr-", b"xoxs-", b"xoxe-"),
         re.compile(rb"xox[abeprs]-[0-9]{6,}-[0-9A-Za-z-]{10,}")),
    Rule("a GitLab token", (b"glpat-",), re.compile(rb"glpat-[A-Za-z0-9_-]{20,}")),
    Rule("an npm token", (b"npm_",), re.compile(rb"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    Rule("a Supabase secret key", (b"sb_secret_",), re.compile(rb"sb_secret_[A-Za-z0-9_-]{20,}")),
    Rule("a Supabase service_role key", _b64_fragments(b"service_role"),
         re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), _jwt_role),
)
PREFIXES: tuple[tuple[bytes, int], ...] = tuple((p, i) for i, r in enumerate(RULES) for p in r.prefixes)


MIN_VALUE_SCAN = 8  # shorter secret values are not looked for in the output (too many false matches)


def value_forms(value: str) -> tuple[bytes, ...]:
    """The byte strings a build may turn ``value`` into: itself, JSON-escaped, URL-encoded, base64."""
    raw = value.encode("utf-8")
    forms: dict[bytes, None] = dict.fromkeys((raw, json.dumps(value)[1:-1].encode("utf-8"),
                                              urllib.parse.quote(value, safe="").encode("ascii"),
                                              urllib.parse.quote_plus(value).encode("ascii")))
    forms.update(dict.fromkeys(_b64_fragments(raw)))
    return tuple(f for f in forms if len(f) >= MIN_VALUE_SCAN)


@dataclass(frozen=True)
class KnownValues:
    """Secret values that must not be published: ``(literal, label)`` pairs, the label naming the secret
    (never its value). Values shorter than ``MIN_VALUE_SCAN`` are left out."""

    literals: tuple[tuple[bytes, str], ...] = ()

    @classmethod
    def of(cls, values: Mapping[str, str]) -> KnownValues:
        """``values`` maps a label ("API_TOKEN") to the secret value."""
        pairs: dict[bytes, str] = {}
        for label, value in values.items():
            if len(value) >= MIN_VALUE_SCAN:
                for form in value_forms(value):
                    pairs.setdefault(form, label)
        return cls(tuple(pairs.items()))

    def find(self, data: bytes, only: set[int] | None = None) -> str | None:
        """The label of the first known value ``data`` holds (of the literals ``only`` names), or None."""
        for j, (literal, label) in enumerate(self.literals):
            if (only is None or j in only) and literal in data:
                return label
        return None


# What a secret file name can look like, for a test cheaper than SECRET_NAME (run on every file).
_NAMES = frozenset({"env", "credentials", ".htpasswd", ".netrc", ".git-credentials", ".pgpass", ".npmrc", ".pypirc",
                    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"})
_NAME_ENDS = (".env", ".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".json")
_NAME_STARTS = (".env.", "credentials.")


def name_reason(rel: str, data: bytes | None = None) -> str:
    """Why the file's name marks it as a secret, or "". ``.pem``/``.key`` files holding no
    private key (public certificates) pass when ``data`` is given."""
    name = rel[rel.rfind("/") + 1:].lower()
    if name not in _NAMES and not name.endswith(_NAME_ENDS) and not name.startswith(_NAME_STARTS):
        return ""
    if not SECRET_NAME.search(rel) or SECRET_NAME_OK.search(rel):
        return ""
    if data is not None and rel.lower().endswith((".pem", ".key")) and b"PRIVATE KEY" not in data:
        return ""
    return "its name marks it as a secrets file"


def is_text(rel: str) -> bool:
    dot = rel.rfind(".")
    return dot <= rel.rfind("/") + 1 or rel[dot:].lower() not in BINARY_EXT


def content_reason(data: bytes, rules: set[int] | None = None) -> str:
    """Run the regexes of ``rules`` (default: those whose literal ``data`` holds) on ``data``."""
    if rules is None:
        rules = {i for p, i in PREFIXES if p in data}
    for i in sorted(rules):
        rule = RULES[i]
        for m in rule.pattern.finditer(data):
            if rule.check is None or rule.check(m.group(0)):
                return f"it contains {rule.what}"
    return ""


def scan_secret(rel: str, data: bytes) -> str:
    """Why ``rel`` looks like a secret, or "" (one file; ``SecretScanner`` for many)."""
    reason = name_reason(rel, data)
    if reason or not is_text(rel):
        return reason
    return content_reason(data)


class _Flagged(Protocol):
    path: str
    secret: str


BATCH_BYTES = 8 << 20


class SecretScanner:
    """Scan many files: names at once, contents in batches on one background thread.

    ``add(f, data)`` may be called from several threads; ``finish()`` waits for the
    batches and leaves each flagged file's reason in ``f.secret``. With ``known`` values,
    the same pass also looks for them; a file holding one is named in ``leaks``
    (path -> label), apart from ``f.secret`` (which the hash cache keeps: a known value
    belongs to one environment, not to the file)."""

    def __init__(self, known: KnownValues | None = None) -> None:
        self._lock = threading.Lock()
        self._files: list[_Flagged] = []
        self._datas: list[bytes] = []
        self._size = 0
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        self.known = known if known is not None and known.literals else None
        self.leaks: dict[str, str] = {}
        self._db: Any = None
        self._own_scratch: Any = None

    def add(self, f: _Flagged, data: bytes, *, cached: bool = False) -> None:
        """Queue ``f`` for the content scan. ``cached``: its name and token scan are known (the hash
        cache); it is read again only to look for the known values."""
        if not cached:
            reason = name_reason(f.path, data)
            if reason or not is_text(f.path):
                f.secret = reason
                return
            f.secret = ""
        elif not is_text(f.path):
            return
        with self._lock:
            self._files.append(f)
            self._datas.append(data)
            self._size += len(data)
            if self._size >= BATCH_BYTES:
                self._submit()

    def _check_plain(self, files: list[_Flagged], datas: list[bytes]) -> None:
        """The same checks without Hyperscan (or for one small batch): one literal at a time."""
        for f, data in zip(files, datas, strict=True):
            reason = content_reason(data)
            if reason:
                f.secret = reason
            if self.known is not None and (label := self.known.find(data)) is not None:
                self.leaks[f.path] = label

    def _database(self) -> Any:
        if self.known is None:
            return _database()
        if self._db is None and _database() is not None:  # rule literals + value literals, one database
            literals = [re.escape(p) for p, _ in PREFIXES] + [re.escape(v) for v, _ in self.known.literals]
            ids = [i for _, i in PREFIXES] + [len(RULES) + j for j in range(len(self.known.literals))]
            db = _hs.Database(mode=_hs.HS_MODE_VECTORED)
            db.compile(expressions=literals, ids=ids, elements=len(literals))
            self._db = db
        return self._db

    def _submit(self) -> None:
        files, datas = self._files, self._datas
        self._files, self._datas, self._size = [], [], 0
        db = self._database()
        if db is None:  # no Hyperscan: the same rules, one literal at a time
            self._check_plain(files, datas)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moai-secret-scan")
        if len(self._futures) >= 2:  # at most two batches of file contents held in memory
            self._futures[-2].result()
        self._futures.append(self._pool.submit(self._scan_batch, db, files, datas))

    def finish(self) -> None:
        with self._lock:
            if self._files and not self._futures:  # one small batch (a redeploy): no thread, no Hyperscan
                self._check_plain(self._files, self._datas)
                self._files, self._datas, self._size = [], [], 0
            elif self._files:
                self._submit()
        try:
            for fut in self._futures:
                fut.result()
        finally:
            self._futures = []
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def _scan_batch(self, db: Any, files: list[_Flagged], datas: list[bytes]) -> None:
        """One vectored scan of the batch (the GIL is released), then the regexes on the files it flagged.

        A literal that straddles two files flags the second one for nothing; its regexes then find no match
        (and a known value is confirmed in the file itself)."""
        ends: list[int] = []
        total = 0
        for d in datas:
            total += len(d)
            ends.append(total)
        hits: dict[int, set[int]] = {}

        def on_match(rule: int, start: int, end: int, flags: int, context: Any) -> None:
            hits.setdefault(bisect.bisect_left(ends, end), set()).add(rule)

        if self.known is None:
            scratch = _scratch(db)
        else:
            if self._own_scratch is None:  # a scratch belongs to its database
                self._own_scratch = _hs.Scratch(db)
            scratch = self._own_scratch
        db.scan(datas, match_event_handler=on_match, scratch=scratch)
        n = len(RULES)
        for idx, ids in hits.items():
            rules = {i for i in ids if i < n}
            if rules:
                files[idx].secret = content_reason(datas[idx], rules) or files[idx].secret
            values = {i - n for i in ids if i >= n}
            if values and self.known is not None and (label := self.known.find(datas[idx], values)) is not None:
                self.leaks[files[idx].path] = label


_DB: Any = None
_DB_LOCK = threading.Lock()
_hs: Any = None


def _database() -> Any:
    """The Hyperscan database of every rule's literals (vectored mode), compiled once (imported on first
    use: a redeploy that scans one file never loads it); None without Hyperscan."""
    global _DB, _hs
    with _DB_LOCK:
        if _DB is None:
            try:
                import hyperscan
            except ImportError:  # pragma: no cover - a platform without its wheel
                return None
            db = hyperscan.Database(mode=hyperscan.HS_MODE_VECTORED)
            db.compile(expressions=[re.escape(p) for p, _ in PREFIXES], ids=[i for _, i in PREFIXES],
                       elements=len(PREFIXES))
            _hs, _DB = hyperscan, db
    return _DB


_SCRATCH = threading.local()


def _scratch(db: Any) -> Any:
    scratch = getattr(_SCRATCH, "scratch", None)
    if scratch is None:
        scratch = _SCRATCH.scratch = _hs.Scratch(db)
    return scratch
