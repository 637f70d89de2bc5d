"""``[backend.supabase]`` of moai.toml: one environment's Supabase backend, declared (docs/backends.md).

The top-level keys are the defaults of every environment; ``[backend.supabase.environments.<env>]``
overrides them for one environment: ``auth`` key by key, ``buckets`` bucket by bucket, the lists
(``realtime_tables``, ``extensions``, ``secrets``, ``auth.additional_redirect_urls``) as a whole.
A section left out is not managed (what is live stays as it is); a section present is the whole truth
for the kinds managed as a whole (buckets, redirect URLs, realtime tables, secrets).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# What Supabase Storage accepts as a bucket name (its isValidBucketName: 1 to 100 characters of this set).
BUCKET_NAME_PATTERN = r"^[A-Za-z0-9_!.*'() &$=@;:+,?-]{1,100}$"
# A table of the realtime publication: ``table`` (schema public) or ``schema.table``, plain identifiers.
TABLE_PATTERN = r"^([a-z_][a-z0-9_$]{0,62}\.)?[a-z_][a-z0-9_$]{0,62}$"
EXTENSION_PATTERN = r"^[a-z_][a-z0-9_-]{0,62}$"
# The sign-in providers the Management API's auth config turns on and off (external_<name>_enabled).
PROVIDERS = ("anonymous_users", "apple", "azure", "bitbucket", "discord", "email", "facebook", "figma", "github",
             "gitlab", "google", "kakao", "keycloak", "linkedin_oidc", "slack_oidc", "notion", "phone", "slack",
             "spotify", "twitch", "twitter", "x", "workos", "web3_solana", "web3_ethereum", "zoom")
SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,255}$"
MIME_PATTERN = r"^[A-Za-z0-9!#$&^_.+*-]+/[A-Za-z0-9!#$&^_.+*-]+$"
JWT_EXP_MAX = 604800  # seconds (a week): the Management API's maximum
# The regions `POST /v1/projects` takes (V1CreateProjectBody region_selection, type "specific").
REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-east-1", "ap-southeast-1", "ap-northeast-1",
           "ap-northeast-2", "ap-southeast-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-central-1",
           "eu-central-2", "ca-central-1", "ap-south-1", "sa-east-1")
Region = Literal[REGIONS]  # type: ignore[valid-type]

BucketName = Annotated[str, StringConstraints(pattern=BUCKET_NAME_PATTERN)]
TableName = Annotated[str, StringConstraints(pattern=TABLE_PATTERN)]
ExtensionName = Annotated[str, StringConstraints(pattern=EXTENSION_PATTERN)]
ProviderName = Literal[PROVIDERS]  # type: ignore[valid-type]
SecretName = Annotated[str, StringConstraints(pattern=SECRET_NAME_PATTERN)]
MimeType = Annotated[str, StringConstraints(pattern=MIME_PATTERN)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class SupabaseAuth(_Strict):
    """[backend.supabase.auth]: the project's auth settings (`GET/PATCH /v1/projects/{ref}/config/auth`)."""

    site_url: str | None = Field(None, pattern=r"^[^,\s]+$", description="Site URL: where sign-in links send users.")
    additional_redirect_urls: list[Annotated[str, StringConstraints(pattern=r"^[^,\s]+$")]] | None = Field(
        None, description="Every allowed redirect URL besides the site URL (wildcards as Supabase allows). Managed "
                          "as a whole: a live URL not listed is removed.")
    providers: dict[ProviderName, bool] | None = Field(
        None, description="Sign-in providers turned on or off, e.g. { email = true, github = false } "
                          "(external_<name>_enabled). Providers not listed are left as they are.")
    email_confirmations: bool | None = Field(
        None, description="Users must confirm their e-mail address before signing in (false: mailer_autoconfirm).")
    jwt_expiry: int | None = Field(None, ge=30, le=JWT_EXP_MAX, description="Access token lifetime in seconds.")


class SupabaseBucket(_Strict):
    """[backend.supabase.buckets.<name>]: a Storage bucket."""

    public: bool = Field(False, description="Files are readable by anyone with the URL.")
    file_size_limit: int | None = Field(None, ge=0, description="Largest file in bytes (absent: the project's).")
    allowed_mime_types: list[MimeType] | None = Field(
        None, description="MIME types uploads may have, e.g. [\"image/png\", \"image/*\"] (absent: any).")


class SupabaseEnvironmentBackend(_Strict):
    """What one environment overrides ([backend.supabase.environments.<env>]), or the defaults."""

    auth: SupabaseAuth | None = None
    buckets: dict[BucketName, SupabaseBucket] | None = Field(
        None, description="Storage buckets by name. Managed as a whole: a live bucket not listed is removed "
                          "(destructive: needs `backend apply --allow-destructive`).")
    realtime_tables: list[TableName] | None = Field(
        None, description="Tables of the supabase_realtime publication (`table` or `schema.table`). Managed as a "
                          "whole.")
    extensions: list[ExtensionName] | None = Field(
        None, description="Postgres extensions to create (never dropped by moai-adk: drop one in a migration).")
    secrets: list[SecretName] | None = Field(
        None, description="Edge Function secrets: names of keys of the environment's encrypted secrets store "
                          "(.moai/secrets/<env>.age), never values. Managed as a whole (SUPABASE_* excepted).")
    create: bool | None = Field(
        None, description="Create the project through the Management API when the environment has no "
                          "supabase_project_ref (a ref set wins: nothing is created).")
    organization: str | None = Field(
        None, pattern=r"^[\w-]+$", description="Organization slug the project is created in (with create = true).")
    region: Region | None = Field(None, description="Region the project is created in (with create = true).")
    name: str | None = Field(
        None, min_length=1, max_length=256, description="Name of the created project (default <project>-<env>).")
    plan: Literal["free", "pro"] | None = Field(
        None, description="Ignored: Supabase sets the plan on the organization, not per project.")


CREATE_KEYS = ("create", "organization", "region", "name", "plan")


class SupabaseBackendTable(SupabaseEnvironmentBackend):
    """[backend.supabase]: defaults of every environment, and per-environment overrides."""

    environments: dict[EnvName, SupabaseEnvironmentBackend] = Field(
        default_factory=dict, description="Overrides for one environment: [backend.supabase.environments.<env>].")

    def for_environment(self, environment: str) -> SupabaseEnvironmentBackend:
        """The defaults with ``environment``'s overrides on top."""
        over = self.environments.get(environment)
        if over is None:
            return SupabaseEnvironmentBackend.model_validate(self.model_dump(exclude={"environments"}), strict=False)
        auth = self.auth
        if over.auth is not None:
            base = self.auth.model_dump(exclude_none=True) if self.auth else {}
            auth = SupabaseAuth.model_validate({**base, **over.auth.model_dump(exclude_none=True)}, strict=False)
        buckets = self.buckets
        if over.buckets is not None:
            buckets = {**(self.buckets or {}), **over.buckets}
        return SupabaseEnvironmentBackend(
            auth=auth, buckets=buckets,
            realtime_tables=over.realtime_tables if over.realtime_tables is not None else self.realtime_tables,
            extensions=over.extensions if over.extensions is not None else self.extensions,
            secrets=over.secrets if over.secrets is not None else self.secrets,
            **{k: getattr(over, k) if getattr(over, k) is not None else getattr(self, k) for k in CREATE_KEYS})
