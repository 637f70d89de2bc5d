from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIREBASE_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "provider-specs" / "firebase-config.schema.json"


@pytest.fixture
def firebase_validator() -> Any:
    """A jsonschema validator for firebase.json (the schema firebase-tools publishes)."""
    if not FIREBASE_SCHEMA.is_file():
        pytest.skip(f"firebase.json schema not found at {FIREBASE_SCHEMA}; cannot validate firebase.json")
    import jsonschema

    schema = json.loads(FIREBASE_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
