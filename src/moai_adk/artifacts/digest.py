"""The snapshot digest: one name for one artifact, whatever platform it went to.

``snapshot_digest`` is the SHA-256 over the sorted ``path NUL hash LF`` list of a manifest,
prefixed with the hash algorithm the manifest uses (``sha256:...`` for the local platform,
``sha1:...`` for Vercel and Netlify). The deploy pipeline records it in the audit log with each
deployment, so a promotion can prove that the artifact it moves is the one that passed its health
check in the environment it comes from (``[environments.<env>] requires``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def snapshot_digest(manifest: Mapping[str, str], algorithm: str) -> str:
    """``<algorithm>:<sha256 hex>`` of ``manifest`` (``{path: hash}``); independent of its order."""
    text = "".join(f"{path}\0{manifest[path]}\n" for path in sorted(manifest))  # one hash call, not 4 per file
    return f"{algorithm}:{hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()}"
