"""The deploy secret guard catches well-known token formats and secret file names, any size, any case."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from moai_adk.artifacts.hashcache import HashCache
from moai_adk.artifacts.secrets import BATCH_BYTES, scan_secret
from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import SecretFileError


def _jwt(claims: dict[str, object]) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{'s' * 43}"


SERVICE_ROLE = _jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "service_role", "iat": 1700000000})
ANON = _jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "anon", "iat": 1700000000})
TOKENS = {
    "aws": "AKIA" + "Q" * 12 + "7ABC",
    "github": "ghp_" + "a1B2" * 9,
    "github-fine-grained": "github_pat_" + "11ABCDEFG0" * 2 + "xy_" + "Z9" * 30,
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "slack": "xoxb-123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx",
    "gitlab": "glpat-" + "x" * 20,
    "npm": "npm_" + "a" * 36,
    "supabase-secret": "sb_secret_" + "N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz",
    "supabase-service-role": SERVICE_ROLE,
}


def _site(tmp: Path) -> Path:
    site = tmp / "out"
    (site / "assets").mkdir(parents=True)
    (site / "index.html").write_text("<h1>home</h1>")
    return site


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_token_in_a_js_bundle_is_refused(tmp_path: Path, kind: str) -> None:
    site = _site(tmp_path)
    bundle = site / "assets" / "app.min.js"
    bundle.write_text('!function(){var e={a:1};' * 50 + f'const k="{TOKENS[kind]}";' + "e.a++;" * 50)
    with pytest.raises(SecretFileError) as err:
        take_snapshot(site)
    assert "assets/app.min.js" in err.value.message and "it contains" in err.value.message
    assert scan_secret("assets/app.min.js", bundle.read_bytes())  # the one-file form agrees
    take_snapshot(site, allow_secret_files=["assets/*.js"])  # the allowlist takes globs


def test_every_format_through_the_batched_prefilter(tmp_path: Path) -> None:
    """A site big enough for batches: each token is found by the Hyperscan pass, in the right file."""
    site = _site(tmp_path)
    (site / "assets" / "0-filler.js").write_bytes(b"z=0;" * (BATCH_BYTES // 4))  # fills the first batch
    for kind, token in TOKENS.items():
        (site / "assets" / f"{kind}.js").write_text(f'x="{token}"')
    found: list[str] = []
    for kind in sorted(TOKENS, key=lambda k: f"{k}.js"):  # errors name the first flagged path
        with pytest.raises(SecretFileError) as err:
            take_snapshot(site, allow_secret_files=found)
        assert f"assets/{kind}.js" in err.value.message
        found.append(f"assets/{kind}.js")
    take_snapshot(site, allow_secret_files=found)


def test_token_deep_inside_a_large_bundle_and_among_many_files(tmp_path: Path) -> None:
    """Past the old 16 MB cut-off, and in a file of a later batch than the first."""
    site = _site(tmp_path)
    for i in range(40):
        (site / "assets" / f"chunk{i}.js").write_bytes(b"x=1;" * (BATCH_BYTES // 40 // 4 + 1))
    (site / "assets" / "chunk39.js").write_bytes(b"y=2;" * 1000 + TOKENS["github"].encode())
    with pytest.raises(SecretFileError, match="chunk39.js"):
        take_snapshot(site)
    (site / "assets" / "chunk39.js").write_text("fine")
    big = site / "assets" / "vendor.js"
    big.write_bytes(b"var a=0;" * (17 * 1024 * 1024 // 8) + TOKENS["aws"].encode() + b";")
    with pytest.raises(SecretFileError, match="vendor.js.*AWS access key"):
        take_snapshot(site)


@pytest.mark.parametrize("name", [".ENV", "prod.env", "config/env", "credentials", "private/.htpasswd",
                                  "Credentials.JSON", ".Env.Production", ".netrc", "deploy/ID_RSA"])
def test_secret_file_names_any_case(tmp_path: Path, name: str) -> None:
    site = _site(tmp_path)
    (site / name).parent.mkdir(parents=True, exist_ok=True)
    (site / name).write_text("x")
    with pytest.raises(SecretFileError, match="its name marks it"):
        take_snapshot(site)
    take_snapshot(site, allow_secret_files=[name])


@pytest.mark.parametrize("content", [
    f'const supabase = createClient(url, "{ANON}");',  # the anon key is public by design
    "AKIAIOSFODNN7EXAMPLE is the access key AWS's documentation uses",
    "a GitHub token looks like ghp_ followed by 36 characters",
    "the env var is SUPABASE_SERVICE_ROLE_KEY; service_role bypasses RLS",
    "pk_live_ keys are publishable; sk_live_ is the prefix of secret ones",
])
def test_look_alikes_pass(tmp_path: Path, content: str) -> None:
    site = _site(tmp_path)
    (site / "assets" / "app.js").write_text(content)
    (site / "environment.js").write_text("export default {}")
    (site / "docs" / "env").mkdir(parents=True)
    (site / "docs" / "env" / "index.html").write_text("how to set env vars")
    take_snapshot(site)


def test_binary_assets_are_not_scanned_but_their_names_are(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "logo.png").write_bytes(b"\x89PNG" + TOKENS["aws"].encode())
    take_snapshot(site)
    (site / "prod.env.png").write_bytes(b"\x89PNG")  # an image whose name only ends like one: fine
    take_snapshot(site)


def test_a_cache_from_the_older_scan_is_not_trusted(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "assets" / "app.js").write_text(f'k="{TOKENS["stripe"]}"')
    cache = tmp_path / "c.bin"
    take_snapshot(site, allow_secret_files=["assets/app.js"], cache=HashCache(cache))
    raw = cache.read_bytes()
    cache.write_bytes(b"MOAIHC2" + raw[7:])  # as the previous release wrote it
    stale = HashCache(cache)
    assert stale.stale and not stale.corrupt and not stale.entries
    with pytest.raises(SecretFileError, match="Stripe"):
        take_snapshot(site, cache=stale)
