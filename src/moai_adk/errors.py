"""The one error tree of moai-adk.

Every failure a user can meet is a ``MoaiError``: it carries a one-paragraph
``message`` (what went wrong, naming the file, flag or key involved) and a
``hint`` (the exact command or edit that fixes it). The CLI prints
``Error: <message>`` and ``Hint: <hint>`` and exits with ``exit_code``.

    MoaiError                      exit 1 unless said otherwise
    ├── UsageError                 exit 2: a flag or argument the CLI cannot use
    ├── ConfigError                moai.toml, firebase.json, vercel.json ... invalid
    ├── SnapshotError              the output folder cannot be deployed as it is
    │   ├── UnsafePathError        a path escapes the folder (.., absolute, symlink out, NUL)
    │   ├── SecretFileError        a private key / .env file would be published
    │   └── LimitError             file count or file size over the platform's limit
    ├── BuildError                 the build command failed
    ├── ProviderError              a platform API said no
    │   ├── AuthError              missing, wrong or revoked token
    │   ├── NotFoundError          project/site/deployment does not exist
    │   ├── NotSupported           the platform has no such capability
    │   ├── RateLimitError         429s that outlasted our retries
    │   ├── IntegrityError         uploaded bytes do not match their hash
    │   ├── DeployFailed           the platform reported the deployment as failed
    │   └── PlatformUnavailable    nothing answers at the platform's URL
    ├── AccessDenied               the access rules (a token's scope, .moai/access.json) refuse the change
    ├── HealthCheckFailed          a new deployment did not pass its health check
    ├── PromotionRefused           promote --from/--to: nothing deployed, or `requires` not met
    ├── StateError                 a local state file (.moai/, .vercel/...) is corrupt
    └── DatabaseError              PostgreSQL refused or failed
        ├── MigrationError         a migration file or the history is inconsistent
        └── BackupError            a backup is missing, damaged, or does not match its manifest

HTTP and driver errors are translated into this tree at one point per
boundary (``providers/_http.py`` for HTTP, ``db/`` for PostgreSQL), always
with ``raise ... from exc`` so ``--debug`` shows the cause.
"""

from __future__ import annotations


class MoaiError(Exception):
    """Base of all errors the CLI reports as ``Error: ...``."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MoaiError):
    exit_code = 2


class AccessDenied(MoaiError):
    """Refused before anything was sent: the caller's role or scope does not allow the change."""


class ConfigError(MoaiError):
    pass


class SnapshotError(MoaiError):
    pass


class UnsafePathError(SnapshotError):
    pass


class SecretFileError(SnapshotError):
    pass


class LimitError(SnapshotError):
    pass


class BuildError(MoaiError):
    pass


class ProviderError(MoaiError):
    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class AuthError(ProviderError):
    pass


class NotFoundError(ProviderError):
    pass


class NotSupported(ProviderError):
    pass


class RateLimitError(ProviderError):
    pass


class IntegrityError(ProviderError):
    pass


class DeployFailed(ProviderError):
    pass


class PlatformUnavailable(ProviderError):
    pass


class HealthCheckFailed(MoaiError):
    pass


class PromotionRefused(MoaiError):
    pass


class StateError(MoaiError):
    pass


class DatabaseError(MoaiError):
    pass


class MigrationError(DatabaseError):
    pass


class BackupError(DatabaseError):
    """A backup is missing, truncated, fails its checksum, or restores to other row counts than its manifest."""
