"""Secrets encrypted at rest, one age file per environment (docs/secrets.md).

    keys.py     where private keys live (OS keyring or a 0600 key file), MOAI_SECRETS_BACKEND
    store.py    .moai/secrets/<env>.age and <env>.recipients: decrypt in memory, encrypt to recipients
    ops.py      keygen, set, get, list, rm, rotate, import, and which platforms hold the values
    redact.py   the one filter every printed byte goes through once secret values are known
"""

from __future__ import annotations

from .keys import BACKEND_ENV, KeyStore, SecretsKeyError
from .store import SecretStore

__all__ = ["BACKEND_ENV", "KeyStore", "SecretStore", "SecretsKeyError"]
