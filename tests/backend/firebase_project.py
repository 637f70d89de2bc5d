"""A project folder with a Firebase backend declared, for the backend tests and the bench."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIRESTORE_RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /orders/{id} {
      allow read: if request.auth != null;
      allow write: if request.auth.uid == resource.data.owner;
    }
  }
}
"""
STORAGE_RULES = """rules_version = '2';
service firebase.storage {
  match /b/{bucket}/o {
    match /avatars/{uid}/{file} {
      allow read;
      allow write: if request.auth.uid == uid;
    }
  }
}
"""


def indexes(n: int = 3, *, overrides: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"indexes": [
        {"collectionGroup": f"c{i % 5}", "queryScope": "COLLECTION",
         "fields": [{"fieldPath": f"f{i}", "order": "ASCENDING"}, {"fieldPath": "created_at", "order": "DESCENDING"}]}
        for i in range(n)]}
    if overrides:
        out["fieldOverrides"] = [
            {"collectionGroup": "orders", "fieldPath": "expires_at", "ttl": True, "indexes": []},
            {"collectionGroup": "orders", "fieldPath": "tags", "indexes": [
                {"arrayConfig": "CONTAINS", "queryScope": "COLLECTION"},
                {"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"}]}]
    return out


def write_project(root: Path, *, project: str = "demo-project", n_indexes: int = 3, domains: list[str] | None = None,
                  extra: str = "", environments: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    domains = ["shop.example.com"] if domains is None else domains
    (root / "moai.toml").write_text(
        f'[project]\nname = "shop"\n\n[deploy]\nplatform = "firebase"\n\n[platforms.firebase]\nsite = "demo-site"\n'
        f'project = "{project}"\n\n{environments}\n[backend.firebase]\n'
        f'authorized_domains = {json.dumps(domains)}\n{extra}\n')
    (root / "firestore.rules").write_text(FIRESTORE_RULES)
    (root / "storage.rules").write_text(STORAGE_RULES)
    (root / "firestore.indexes.json").write_text(json.dumps(indexes(n_indexes), indent=2))
    return root
