"""The store as a library: real age files, real key files, per-environment keys, bad input."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from moai_adk.config import load_config
from moai_adk.errors import ConfigError, StateError, UsageError
from moai_adk.secrets import ops
from moai_adk.secrets.keys import KeyStore, SecretsKeyError, config_dir
from moai_adk.secrets.store import SecretStore

from .conftest import make_project, user_env


def stores(tmp_path: Path, who: str = "alice") -> tuple[Path, dict[str, str]]:
    root = tmp_path / "p"
    if not root.exists():
        make_project(root)
    return root, user_env(tmp_path, who)


def open_env(root: Path, environ: dict[str, str], environment: str) -> SecretStore:
    return ops.open_store(load_config(root / "moai.toml"), environment, environ)


def test_values_round_trip_encrypted_and_the_key_file_is_private(tmp_path: Path) -> None:
    root, environ = stores(tmp_path)
    store = open_env(root, environ, "production")
    result = ops.keygen(store, label="alice@laptop")
    assert result["backend"] == "file" and result["needs_rotate"] is False
    ops.set_secret(store, "STRIPE_KEY", "sk_live_round_trip_value")
    data = (root / ".moai/secrets/production.age").read_bytes()
    assert data.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----") and b"sk_live_round_trip_value" not in data
    assert open_env(root, environ, "production").read() == {"STRIPE_KEY": "sk_live_round_trip_value"}
    key_file = Path(environ["XDG_CONFIG_HOME"]) / "moai-adk/keys/demo/production.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "AGE-SECRET-KEY-1" in key_file.read_text()
    recipients = (root / ".moai/secrets/production.recipients").read_text()
    assert result["public_key"] + " # alice@laptop" in recipients and "AGE-SECRET" not in recipients


def test_xdg_config_home_is_honoured_else_home_config() -> None:
    assert config_dir({"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/h"}) == Path("/x/cfg/moai-adk")
    assert config_dir({"XDG_CONFIG_HOME": "relative", "HOME": "/h"}) == Path("/h/.config/moai-adk")
    assert config_dir({"HOME": "/h"}) == Path("/h/.config/moai-adk")


def test_the_development_key_does_not_open_production(tmp_path: Path) -> None:
    root, environ = stores(tmp_path)
    prod = open_env(root, environ, "production")
    ops.keygen(prod, label="ops")
    ops.set_secret(prod, "DB_PASSWORD", "production-password")
    # bob has only a development key, and copies it where the production key would be
    bob = user_env(tmp_path, "bob")
    ops.keygen(open_env(root, bob, "development"), label="bob")
    keys = Path(bob["XDG_CONFIG_HOME"]) / "moai-adk/keys/demo"
    (keys / "production.key").write_text((keys / "development.key").read_text())
    with pytest.raises(SecretsKeyError) as err:
        open_env(root, bob, "production").read()
    assert "not one of the recipients of .moai/secrets/production.age" in err.value.message
    assert "moai-adk secrets rotate --env production --add age1" in (err.value.hint or "")


def test_a_missing_key_names_the_environment_and_how_to_get_one(tmp_path: Path) -> None:
    root, environ = stores(tmp_path)
    store = open_env(root, environ, "staging")
    ops.keygen(store, label="alice")
    ops.set_secret(store, "API_TOKEN", "staging-token-value")
    with pytest.raises(SecretsKeyError) as err:
        open_env(root, user_env(tmp_path, "carol"), "staging").read()
    assert "No private key for the staging environment" in err.value.message
    assert "carol-config/moai-adk/keys/demo/staging.key" in err.value.message
    assert "`moai-adk secrets keygen --env staging`" in (err.value.hint or "")
    assert "rotate --env staging" in (err.value.hint or "")


@pytest.mark.parametrize("damage", ["garbage", "flip-payload", "truncate"])
def test_a_corrupted_age_file_is_named_and_nothing_is_read(tmp_path: Path, damage: str) -> None:
    root, environ = stores(tmp_path)
    store = open_env(root, environ, "production")
    ops.keygen(store, label="alice")
    ops.set_secret(store, "API_TOKEN", "a-long-enough-token")
    age = root / ".moai/secrets/production.age"
    if damage == "garbage":
        age.write_bytes(b"not an age file\n")
    else:
        from pyrage import decrypt, encrypt, x25519

        ident = x25519.Identity.from_str(store.keys.load("production") or "")
        raw = bytearray(encrypt(decrypt(age.read_bytes(), [ident]), [ident.to_public()]))  # binary form
        if damage == "flip-payload":
            raw[-3] ^= 0x01
        else:
            raw = raw[:-10]
        age.write_bytes(bytes(raw))
    with pytest.raises(StateError) as err:
        store.read()
    assert ".moai/secrets/production.age is corrupted" in err.value.message
    assert "git checkout -- .moai/secrets/production.age" in (err.value.hint or "")


def test_duplicate_keys_in_an_imported_file_name_their_lines_and_import_nothing(tmp_path: Path) -> None:
    root, environ = stores(tmp_path)
    store = open_env(root, environ, "production")
    ops.keygen(store, label="alice")
    dotenv = tmp_path / "prod.env"
    dotenv.write_text("# prod\nAPI_TOKEN=first-token\nDB_URL=postgres://a\nexport API_TOKEN=second-token\n"
                      "DB_URL=postgres://b\nAPI_TOKEN='third-token'\n")
    with pytest.raises(ConfigError) as err:
        ops.import_file(store, dotenv)
    assert "API_TOKEN on lines 2, 4 and 6" in err.value.message
    assert "DB_URL on lines 3 and 5" in err.value.message
    assert not store.path.exists()


def test_import_adds_and_changes_and_refuses_short_values_before_writing(tmp_path: Path) -> None:
    root, environ = stores(tmp_path)
    store = open_env(root, environ, "preview")
    ops.keygen(store, label="alice")
    ops.set_secret(store, "KEEP_ME", "kept-value-1")
    (tmp_path / "a.env").write_text("KEEP_ME=changed-value\nNEW_ONE=\"new value here\"\n")
    result = ops.import_file(store, tmp_path / "a.env")
    assert (result["added"], result["changed"]) == (["NEW_ONE"], ["KEEP_ME"])
    assert store.read() == {"KEEP_ME": "changed-value", "NEW_ONE": "new value here"}
    (tmp_path / "b.env").write_text("OTHER=long-enough\nPORT=80\n")
    with pytest.raises(UsageError, match="PORT is 2 character"):
        ops.import_file(store, tmp_path / "b.env")
    assert "OTHER" not in store.read()


def test_backend_choice_is_explicit(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="MOAI_SECRETS_BACKEND='vault' is not a secrets key backend"):
        KeyStore("demo", {"MOAI_SECRETS_BACKEND": "vault"})
    file_store = KeyStore("demo", {"MOAI_SECRETS_BACKEND": "file", "XDG_CONFIG_HOME": str(tmp_path)})
    assert file_store.backend == "file"
    assert file_store.describe("production") == f"the key file {tmp_path}/moai-adk/keys/demo/production.key"


def test_rotate_adds_and_removes_recipients_and_never_drops_your_own(tmp_path: Path) -> None:
    root, alice = stores(tmp_path)
    store = open_env(root, alice, "production")
    ops.keygen(store, label="alice")
    ops.set_secret(store, "API_TOKEN", "token-before-rotate")
    bob = user_env(tmp_path, "bob")
    bob_key = ops.keygen(open_env(root, bob, "production"), label="bob")["public_key"]
    with pytest.raises(SecretsKeyError, match="was not re-encrypted since your key was added"):
        open_env(root, bob, "production").read()
    result = ops.rotate(store)
    assert result["added"] == [] and bob_key in result["recipients"]
    assert open_env(root, bob, "production").read() == {"API_TOKEN": "token-before-rotate"}
    result = ops.rotate(store, remove=("bob",))
    assert result["removed"] == [bob_key]
    with pytest.raises(SecretsKeyError, match="not one of the recipients"):
        open_env(root, bob, "production").read()
    with pytest.raises(UsageError, match="remove your own key"):
        ops.rotate(store, remove=("alice",))
    with pytest.raises(UsageError, match="not an age public key"):
        ops.rotate(store, add=("age1nope",))


def test_keygen_force_replaces_your_key_and_its_recipient_line(tmp_path: Path) -> None:
    root, environ = stores(tmp_path)
    store = open_env(root, environ, "preview")
    first = ops.keygen(store, label="alice")["public_key"]
    ops.keygen(open_env(root, user_env(tmp_path, "bob"), "preview"), label="bob")
    with pytest.raises(UsageError, match="already have a key for the preview environment"):
        ops.keygen(store, label="alice")
    second = ops.keygen(store, label="alice", force=True)["public_key"]
    listed = [r.public_key for r in store.recipients()]
    assert first not in listed and second in listed and len(listed) == 2
