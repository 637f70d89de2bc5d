"""Backends as code (``moai-adk backend plan|apply``): declare each environment's Supabase or Firebase
backend in ``moai.toml`` and let the engine read, compare and change it (docs/backends.md).

    plan.py     the state model, diff, Change and Plan
    engine.py   Backend (the abstract class each platform implements), make_plan, apply_plan
    supabase.py / firebase.py   the platforms (lazily imported through BACKENDS)
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .engine import ApplyResult, Backend, BackendError, apply_plan, make_plan
from .plan import Change, Plan, diff

if TYPE_CHECKING:
    import httpx

    from ..config import Config

# backend name -> "module:Class"; each class is built as Class(cfg, environment, environ, transport)
BACKENDS: dict[str, str] = {
    "supabase": "moai_adk.backend.supabase:SupabaseBackend",
    "firebase": "moai_adk.backend.firebase:FirebaseBackend",
}


def configured(cfg: Config) -> list[str]:
    """The backends moai.toml declares (``[backend.<name>]`` tables), in BACKENDS order."""
    tables: Mapping[str, Any] = cfg.backend or {}
    return [name for name in BACKENDS if tables.get(name) is not None]


def open_backend(cfg: Config, name: str | None, environment: str, environ: Mapping[str, str],
                 transport: httpx.BaseTransport | None = None) -> Backend:
    """The backend ``name`` (default: the only one moai.toml declares) of ``environment``."""
    declared = configured(cfg)
    if name is None:
        if len(declared) != 1:
            raise UsageError(
                "Say which backend: --backend " + " or --backend ".join(declared or list(BACKENDS)) + "."
                if declared else f"{cfg.path or 'moai.toml'} declares no backend ([backend.supabase] or "
                                 "[backend.firebase]).",
                hint="See docs/backends.md for the tables.")
        name = declared[0]
    if name not in BACKENDS:
        raise UsageError(f"Unknown backend '{name}' (--backend); known: {', '.join(BACKENDS)}.",
                         hint="Pass --backend supabase or --backend firebase.")
    if name not in declared:
        raise UsageError(f"{cfg.path or 'moai.toml'} has no [backend.{name}] table.",
                         hint=f"Add [backend.{name}] (docs/backends.md), or pick another backend.")
    cfg.environment(environment)  # an unknown environment lists the known ones
    module, cls = BACKENDS[name].split(":")
    backend_cls = getattr(importlib.import_module(module), cls)
    backend: Backend = backend_cls(cfg, environment, environ, transport)
    return backend


__all__ = ["BACKENDS", "ApplyResult", "Backend", "BackendError", "Change", "Plan", "apply_plan", "configured",
           "diff", "make_plan", "open_backend"]
