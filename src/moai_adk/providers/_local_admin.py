"""Administration of the local platform from the CLI: its server-side audit log."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ..errors import UsageError
from .base import ProviderContext
from .local import API, LocalProvider


def platform_audit(environ: Mapping[str, str], *, data_dir: Path | None = None, verify: bool = False,
                   limit: int = 100, transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """The platform's audit log: read from ``data_dir`` directly, else from the API (admin token)."""
    if data_dir is not None:
        from ..audit import read_entries_at, verify_chain
        from ..platform.audit_log import audit_path

        path = audit_path(data_dir)
        if not data_dir.is_dir():
            raise UsageError(f"--data {data_dir}: no such folder.",
                             hint="Pass the folder `moai-adk platform serve --data` uses.")
        if verify:
            return verify_chain(path)
        return {"log": str(path), "entries": read_entries_at(path)[-limit:]}
    provider = LocalProvider(ProviderContext(root=Path("."), environ=environ, transport=transport))
    try:
        if verify:
            response = provider.api.request("GET", f"{API}/audit/verify", expect={409})
            if response.status_code == 409:
                from ..audit import AuditIntegrityError

                err = response.json().get("error", {})
                raise AuditIntegrityError(f"The local platform's audit log does not verify: {err.get('message')}",
                                          hint="Restore the platform's audit/log.jsonl from a backup; the entries "
                                               "before the one named are intact.", report=err.get("report"))
            return dict(provider.api.decode(response))
        return {"url": provider.url, **provider._json("GET", "/audit", params={"limit": limit})}
    finally:
        provider.close()
