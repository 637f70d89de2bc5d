"""Firebase Hosting: ``FirebaseProvider`` and its parts (config, serving, auth, api)."""

from .provider import FirebaseProvider

__all__ = ["FirebaseProvider"]
