"""Provider registry: platform name -> lazily imported provider class.

Third parties register more through the ``moai_adk.providers`` entry-point
group (``name = "package.module:ClassName"``).
"""

from __future__ import annotations

import importlib

from ..errors import UsageError
from .base import Provider, ProviderContext

_BUILTIN: dict[str, str] = {
    "local": "moai_adk.providers.local:LocalProvider",
    "vercel": "moai_adk.providers.vercel:VercelProvider",
    "netlify": "moai_adk.providers.netlify:NetlifyProvider",
    "firebase": "moai_adk.providers.firebase:FirebaseProvider",
    "supabase": "moai_adk.providers.supabase:SupabaseProvider",
}


def available() -> dict[str, str]:
    from importlib.metadata import entry_points  # scans every installed distribution: only when asked

    names = dict(_BUILTIN)
    for ep in entry_points(group="moai_adk.providers"):
        names.setdefault(ep.name, ep.value)
    return names


def get_provider_class(name: str) -> type[Provider]:
    names = _BUILTIN if name in _BUILTIN else available()  # a plug-in cannot replace a built-in name
    target = names.get(name)
    if target is None:
        raise UsageError(
            f"Unknown platform '{name}' (--platform).",
            hint=f"Use one of: {', '.join(sorted(names))}.",
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(
            f"The '{name}' platform is not available in this installation ({exc.name} is missing).",
            hint="Repair the install (`pip install --force-reinstall moai-adk`), or install the package "
                 "that provides this platform.",
        ) from exc
    cls: type[Provider] = getattr(module, attr)
    return cls


def make_provider(name: str, ctx: ProviderContext) -> Provider:
    return get_provider_class(name)(ctx)


__all__ = ["Provider", "ProviderContext", "available", "get_provider_class", "make_provider"]
