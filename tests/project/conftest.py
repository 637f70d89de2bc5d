from __future__ import annotations

from typing import Any

import pytest

from moai_adk.providers.firebase.config import packaged_schema


@pytest.fixture
def firebase_validator() -> Any:
    """A jsonschema validator for firebase.json (the schema firebase-tools publishes, shipped in the package)."""
    import jsonschema

    schema = packaged_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
