"""Every failure of the deploy API as an ``ApiError``: the platform answers JSON
``{"error": {"code", "message"}}`` whatever went wrong, never a bare 500.

* no space left (the filesystem's ENOSPC/EDQUOT, SQLite's ``SQLITE_FULL``) -> 507 ``no_space``;
* a body that does not fit the limits -> 413 ``too_large``;
* a body that ended before its announced length -> 400 ``truncated``;
* anything else unexpected -> 500 ``internal`` (the traceback goes to the server's log).
"""

from __future__ import annotations

import logging
import sqlite3

from .service import ApiError
from .store import BlobTooLarge, is_no_space

log = logging.getLogger("moai_adk.platform")


def no_space(exc: BaseException) -> bool:
    """Out of space, here or in what led to it (SQLite rolls back by itself on SQLITE_FULL, so the
    ROLLBACK that follows fails and carries the real cause as its context)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if is_no_space(seen) or (isinstance(seen, sqlite3.OperationalError)
                                 and getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def truncated(received: int, expected: int | None = None) -> ApiError:
    announced = f" of the {expected} announced" if expected is not None else ""
    return ApiError(400, "truncated", f"the request body ended after {received} bytes{announced}: the client "
                    "stopped sending before the end; send the whole body again")


def api_error(exc: BaseException) -> ApiError:
    """The JSON error a failure answers with."""
    if isinstance(exc, ApiError):
        return exc
    if no_space(exc):
        return ApiError(507, "no_space", f"the platform's data folder has no space left ({exc}); no partial "
                        "file was kept; free disk space there and send the request again")
    if isinstance(exc, BlobTooLarge):
        return ApiError(413, "too_large", f"the upload is larger than the limit of {exc.limit} bytes",
                        limit=exc.limit)
    log.error("deploy API request failed", exc_info=exc)
    return ApiError(500, "internal", f"the platform failed on this request ({type(exc).__name__}: {exc}); "
                    "its log has the details")
