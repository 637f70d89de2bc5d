"""A project with [backend.supabase] against the Management API fake and the Storage fake."""

from __future__ import annotations

from pathlib import Path

import httpx

from moai_adk.config import Config, load_config
from moai_adk.secrets.ops import keygen, open_store, set_secret
from tests.fakes.supabase_api import FakeSupabaseApi
from tests.fakes.supabase_storage import FakeSupabaseStorage

STAGING = "abcdefghijklmnopqrst"
PRODUCTION = "tsrqponmlkjihgfedcba"
TOML = f"""[project]
name = "shop"

[environments.staging]
supabase_project_ref = "{STAGING}"

[environments.production]
supabase_project_ref = "{PRODUCTION}"

[backend.supabase]
realtime_tables = ["todos", "public.messages"]
extensions = ["pg_trgm", "vector"]
secrets = ["STRIPE_KEY"]

[backend.supabase.auth]
site_url = "https://shop.example"
additional_redirect_urls = ["https://shop.example/auth/callback", "http://localhost:3000/**"]
providers = {{ github = true, email = true }}
email_confirmations = true
jwt_expiry = 7200

[backend.supabase.buckets.avatars]
public = true
file_size_limit = 1048576
allowed_mime_types = ["image/png", "image/jpeg"]

[backend.supabase.buckets.invoices]

[backend.supabase.environments.staging.auth]
site_url = "https://staging.shop.example"
"""


class Fakes:
    def __init__(self) -> None:
        self.api = FakeSupabaseApi(refs=(STAGING, PRODUCTION))
        self.storage = FakeSupabaseStorage(self.api)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == httpx.URL(self.storage.base_url).host:
            return self.storage.handle(request)
        return self.api.handle(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def environ(self, tmp_path: Path, token: str = "sbp_test") -> dict[str, str]:
        return {"SUPABASE_ACCESS_TOKEN": token, "MOAI_SUPABASE_API_URL": self.api.base_url,
                "MOAI_SUPABASE_PROJECT_URL": self.storage.project_url, "MOAI_SECRETS_BACKEND": "file",
                "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
                "USER": "alice"}


def make_project(root: Path, environ: dict[str, str], toml: str = TOML,
                 secrets: dict[str, dict[str, str]] | None = None) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "moai.toml").write_text(toml)
    cfg = load_config(root / "moai.toml")
    for env, values in (secrets if secrets is not None else {"staging": {"STRIPE_KEY": "sk_test_staging_1"},
                                                             "production": {"STRIPE_KEY": "sk_live_prod_1"}}).items():
        store = open_store(cfg, env, environ)
        keygen(store, label="alice")
        for key, value in values.items():
            set_secret(store, key, value)
    return cfg
