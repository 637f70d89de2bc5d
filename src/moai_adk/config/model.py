"""The typed model of ``moai.toml`` and the JSON Schema generated from it.

Every table is a pydantic model in strict mode (a number is not a string, ``true`` is not a
number) that forbids keys it does not know, except the ``[platforms.<name>]`` tables: those
type the keys their adapter reads and keep any other key for it (``problems.misspelled_settings``
still rejects a key that looks like a typo of a known one). TOML has no null, so ``None``
below only means "absent" and the schema never offers ``null``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from . import KNOWN_PLATFORMS, NAME_PATTERN
from .backend_supabase import SupabaseBackendTable

JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"

Platform = Literal[KNOWN_PLATFORMS]  # type: ignore[valid-type]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
HealthPath = Annotated[str, StringConstraints(pattern=r"^/")]


def _inside_project(value: str) -> str:
    for flavour in (PurePosixPath, PureWindowsPath):
        path = flavour(value)
        if path.is_absolute() or path.anchor or ".." in path.parts:
            raise PydanticCustomError("moai_outside", "must be a folder inside the project")
    return value


# The same rule for editors (JSON Schema regexes are ECMA 262, which has lookahead).
INSIDE_PROJECT_PATTERN = r"^(?![/\\]|[A-Za-z]:)(?!(?:.*[/\\])?\.\.(?:[/\\]|$))"
RelativeFolder = Annotated[str, AfterValidator(_inside_project)]

ENV_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _env_key(value: str) -> str:
    if not re.fullmatch(ENV_KEY_PATTERN, value):
        raise PydanticCustomError("moai_env_key", "'{key}' is not a variable name (letters, digits and '_', "
                                  "not starting with a digit)", {"key": value})
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError("moai_regex", "not a regular expression ({error})", {"error": str(exc)}) from None
    return value


def _cron(value: str) -> str:
    from .cron import CronError, parse

    try:
        parse(value)
    except CronError as exc:
        raise PydanticCustomError("moai_cron", "{error}", {"error": str(exc).rstrip(".")}) from None
    return value


EnvKey = Annotated[str, AfterValidator(_env_key)]
CronText = Annotated[str, AfterValidator(_cron)]
Regex = Annotated[str, AfterValidator(_regex)]


class _Table(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Settings(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class ProjectTable(_Table):
    """[project]: who this project is."""

    name: Name = Field(description="Project name: lowercase letters, digits and '-', at most 63.")
    framework: str | None = Field(None, description="What `moai-adk init` detected (informational).")


class BuildTable(_Table):
    """[build]: how the deployed folder is made."""

    command: str | None = Field(None, description="Build command; empty or absent: nothing to build.")
    output: RelativeFolder = Field(".", description="Folder to deploy, relative to moai.toml (no '..').",
                                   json_schema_extra={"pattern": INSIDE_PROJECT_PATTERN})


class DeployTable(_Table):
    """[deploy]: where and how `moai-adk deploy` publishes."""

    platform: Platform | None = Field(None, description="Default platform of `moai-adk deploy`.")
    platforms: list[Platform] | None = Field(None, description="Every platform this project deploys to.")
    health_check: HealthPath = Field("/", description="Path fetched on each new deployment before promotion.")
    health_timeout: float = Field(30.0, gt=0, description="Seconds the health check may take.")
    exclude: list[str] = Field(
        default_factory=list,
        description="Files of the output folder never published: names (`*.map`, `drafts/`) or paths from its "
                    "top (`assets/**/*.psd`); `!name` keeps a name an earlier pattern left out.")


class EnvironmentTable(_Table):
    """[environments.<name>]: development, preview, staging, production, or your own."""

    platform: Platform | None = Field(None, description="Platform of this environment (overrides deploy.platform).")
    branch: str | None = Field(None, description="Git branch of this environment.")
    url: str | None = Field(None, description="Public URL (informational).")
    db_url_env: str | None = Field(None, description="Name of the env var holding this environment's database URL.")
    supabase_project_ref: str | None = Field(None, description="Supabase project ref of this environment.")
    health_check: HealthPath | None = Field(None, description="Health check path for this environment.")
    target: str | None = Field(
        None, description="The platform's own name for this environment (docs/environments.md): the local "
                          "platform's alias, a Vercel target or custom environment, a Netlify deploy context or "
                          "branch, a Firebase Hosting channel. Absent: the environment's name (Firebase: `live` "
                          "for production).")
    requires: Name | None = Field(
        None, description="Environment an artifact must have been deployed to and found healthy in before "
                          "`moai-adk promote` may bring it here, e.g. requires = \"staging\".")


class RequiredVarTable(_Table):
    """[env.required] NAME = { environments = [...], pattern = "..." }: a variable a deploy needs."""

    environments: list[Name] | None = Field(
        None, description="Environments that need it (absent: every environment).")
    pattern: Regex | None = Field(
        None, description="Regular expression (Python syntax) the value must contain a match of; anchor it "
                          "with ^ and $ to match the whole value.")
    description: str | None = Field(None, description="What it is for (shown when it is missing).")


class EnvTable(_Table):
    """[env]: environment variables the project needs (docs/environments.md)."""

    required: dict[EnvKey, RequiredVarTable] = Field(
        default_factory=dict, json_schema_extra={"propertyNames": {"pattern": ENV_KEY_PATTERN}},
        description="Variables `moai-adk deploy` checks before building: name -> { environments, pattern }.")


class LocalSettings(_Settings):
    """[platforms.local]: the moai-adk platform (docs/platform.md)."""

    site: str | None = Field(None, description="Site name on the platform (default: project.name).")
    url: str | None = Field(None, description="Platform URL (MOAI_PLATFORM_URL wins).")


class VercelSettings(_Settings):
    """[platforms.vercel] (docs/providers/vercel.md)."""

    project_id: str | None = Field(None, description="Project id (wins over .vercel/project.json).")
    org_id: str | None = Field(None, description="Team or user id owning the project.")
    team_id: str | None = Field(None, description="Team id (same as org_id for a team).")
    project: str | None = Field(None, description="Project name to find or create (default: project.name).")
    max_file_size: int | None = Field(None, gt=0, description="Largest file to upload, in bytes.")
    archive: Literal["tgz", "split-tgz", "off"] | None = Field(
        None, description="\"tgz\": send the output as one tarball (as `vercel deploy --archive=tgz`; \"split-tgz\" "
                          "is the same); \"off\": one upload per file. Absent: the tarball above 15,000 files or "
                          "max_upload_requests missing files.")
    max_upload_requests: int | None = Field(
        None, gt=0, description="Most missing files sent one by one before a deploy switches to the tarball "
                                "(default 1000).")
    max_archive_size: int | None = Field(
        None, gt=0, description="Largest tarball to upload, in bytes (default 100000000, Hobby; 1000000000 on Pro).")
    custom_environments: dict[str, str] | None = Field(
        None, description="Our environment -> Vercel custom environment id, e.g. { staging = \"env_...\" }.")


class NetlifySettings(_Settings):
    """[platforms.netlify] (docs/providers/netlify.md)."""

    site_id: str | None = Field(None, description="Site id (wins over .netlify/state.json).")
    site: str | None = Field(None, description="Site name to find or create (default: project.name).")


class FirebaseSettings(_Settings):
    """[platforms.firebase] (docs/providers/firebase.md)."""

    site: str | None = Field(None, description="Hosting site id.")
    project: str | None = Field(None, description="Firebase project id.")
    target: str | None = Field(None, description="Hosting target (firebase.json hosting[].target).")


class SupabaseSettings(_Settings):
    """[platforms.supabase] (docs/providers/supabase.md)."""

    project_ref: str | None = Field(None, description="Project ref (20 lowercase letters).")


class PlatformsTable(_Table):
    """[platforms.<name>]: settings read by each platform's adapter."""

    local: LocalSettings | None = None
    vercel: VercelSettings | None = None
    netlify: NetlifySettings | None = None
    firebase: FirebaseSettings | None = None
    supabase: SupabaseSettings | None = None
    cloudflare: dict[str, Any] | None = Field(None, description="Free-form (no adapter yet).")
    amplify: dict[str, Any] | None = Field(None, description="Free-form (no adapter yet).")
    azure: dict[str, Any] | None = Field(None, description="Free-form (no adapter yet).")


Domain = Annotated[str, StringConstraints(
    pattern=r"^(localhost|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+)$")]
ProjectFile = Annotated[str, AfterValidator(_inside_project)]


class FirebaseBackendEnvironment(_Table):
    """[backend.firebase.environments.<env>]: what differs in one environment (absent keys: the defaults)."""

    project: str | None = Field(
        None, description="Firebase project id of this environment (default: [backend.firebase] project, then "
                          "[platforms.firebase] project, then .firebaserc).")
    firestore_rules: ProjectFile | None = Field(
        None, description="Firestore security rules file, relative to moai.toml (default firestore.rules; "
                          "\"\" leaves the released rules alone).",
        json_schema_extra={"pattern": INSIDE_PROJECT_PATTERN})
    firestore_indexes: ProjectFile | None = Field(
        None, description="Firestore indexes file in the Firebase CLI's format ({ indexes, fieldOverrides }), "
                          "relative to moai.toml (default firestore.indexes.json; \"\": indexes not managed).",
        json_schema_extra={"pattern": INSIDE_PROJECT_PATTERN})
    storage_rules: ProjectFile | None = Field(
        None, description="Cloud Storage security rules file, relative to moai.toml (default storage.rules; "
                          "\"\" leaves them alone).",
        json_schema_extra={"pattern": INSIDE_PROJECT_PATTERN})
    storage_bucket: str | None = Field(
        None, description="Bucket the Storage rules are released for (default <project>.appspot.com).")
    authorized_domains: list[Domain] | None = Field(
        None, description="Auth authorized domains (besides localhost, <project>.firebaseapp.com and "
                          "<project>.web.app, always kept, and preview channels' domains, kept by deploy and "
                          "cleanup). Absent: not managed.")
    web_app: str | None = Field(
        None, description="The web app whose config (apiKey, authDomain, ...) moai-adk exposes: its app id "
                          "(1:...:web:...) or display name (default: the project's only web app).")


class FirebaseBackendTable(FirebaseBackendEnvironment):
    """[backend.firebase]: each environment's Firebase backend (docs/backends.md#firebase)."""

    environments: dict[Name, FirebaseBackendEnvironment] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False},
        description="Per-environment overrides: [backend.firebase.environments.<env>].")


class BackendTable(_Table):
    """[backend.<name>]: each environment's backend, declared (docs/backends.md)."""

    supabase: SupabaseBackendTable | None = Field(None, description="Supabase backend: auth, storage, realtime, "
                                                                    "extensions, function secrets per environment.")
    firebase: FirebaseBackendTable | None = Field(
        None, description="Firebase backend: Firestore and Storage rules, indexes, authorized domains per "
                          "environment.")
class PrivacyTable(_Table):
    """[db.privacy]: where one person's rows live, for `moai-adk db forget` (docs/data-sync.md)."""

    subject_table: str = Field(description="Table with one row per person, e.g. \"users\" (schema.table "
                                           "outside public).")
    subject_columns: list[str] = Field(
        default_factory=lambda: ["id", "email"], min_length=1,
        description="Columns of subject_table that --subject is matched against (as text), e.g. [\"id\", \"email\"].")
    key: str = Field("id", description="Column of subject_table that the tables below reference.")
    tables: dict[str, str] = Field(
        default_factory=dict,
        description="Other tables holding the person's rows: table -> its column referencing `key`, e.g. "
                    "{ orders = \"user_id\" }.")
    rules: RelativeFolder | None = Field(
        None, json_schema_extra={"pattern": INSIDE_PROJECT_PATTERN},
        description="Anonymisation rules file (the `db sync --anonymize` format) used by `db forget --anonymize`; "
                    "absent: personal-looking columns get email, name, null or hash.")


class BackupsTable(_Table):
    """[db.backups]: where `moai-adk db backup` stores backups and how long they are kept (docs/backups.md)."""

    location: str = Field(
        ".moai/backups", description="A folder (relative to moai.toml) or an S3-compatible bucket, "
                                     "\"s3://bucket/prefix\".")
    endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible store (MinIO, R2, ...); absent: AWS S3 or "
                          "$AWS_ENDPOINT_URL_S3.")
    region: str | None = Field(None, description="Bucket region (absent: $AWS_REGION or $AWS_DEFAULT_REGION).")
    encrypt: bool = Field(False, description="Encrypt each backup to the environment's age recipients "
                                             "(.moai/secrets/<env>.recipients).")
    keep_daily: int = Field(7, ge=0, description="`db backups prune` keeps the newest backup of each of the "
                                                 "last N days that have backups.")
    keep_weekly: int = Field(4, ge=0, description="... of each of the last N ISO weeks that have backups.")
    keep_monthly: int = Field(12, ge=0, description="... of each of the last N months that have backups.")
    schedule: CronText | None = Field(
        None, description="Cron expression (5 fields, UTC), e.g. \"0 3 * * *\": `moai-adk platform serve "
                          "--backups-for DIR` backs up the schedule_environments then prunes (docs/backups.md).")
    schedule_environments: list[str] = Field(
        default_factory=lambda: ["production"], description="Environments the schedule backs up.")


class DbTable(_Table):
    """[db]: database settings beyond the connection (docs/backups.md, docs/data-sync.md)."""

    backups: BackupsTable = Field(default_factory=lambda: BackupsTable.model_validate({}))
    privacy: PrivacyTable | None = Field(None, description="Where a person's rows are, for `db forget`.")


class MoaiToml(_Table):
    """moai.toml: the configuration of a moai-adk project (docs/config.md)."""

    model_config = ConfigDict(title="moai.toml")

    project: ProjectTable
    build: BuildTable = Field(default_factory=lambda: BuildTable.model_validate({}))
    deploy: DeployTable = Field(default_factory=lambda: DeployTable.model_validate({}))
    environments: dict[Name, EnvironmentTable] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False},
        description="One table per environment; names use lowercase letters, digits and '-'.")
    platforms: PlatformsTable = Field(default_factory=lambda: PlatformsTable.model_validate({}))
    env: EnvTable = Field(default_factory=lambda: EnvTable.model_validate({}))
    backend: BackendTable = Field(default_factory=lambda: BackendTable.model_validate({}))
    db: DbTable = Field(default_factory=lambda: DbTable.model_validate({}))


SETTINGS_MODELS: dict[str, type[BaseModel]] = {
    "local": LocalSettings, "vercel": VercelSettings, "netlify": NetlifySettings,
    "firebase": FirebaseSettings, "supabase": SupabaseSettings,
}


def unknown_settings(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(platform, key)`` of each key a ``[platforms.<name>]`` table has beyond its model's fields."""
    tables = data.get("platforms")
    if not isinstance(tables, Mapping):
        return []
    return [(name, key) for name, model in SETTINGS_MODELS.items() if isinstance(tables.get(name), Mapping)
            for key in tables[name] if key not in model.model_fields]


class _TomlJsonSchema(GenerateJsonSchema):
    """JSON Schema as TOML sees it: no ``null``, no generated titles, no ``default: null``."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        result = super().default_schema(schema)
        if result.get("default") is None:
            result.pop("default", None)
        return result

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


@cache
def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``moai.toml`` (what ``schemas/moai.schema.json`` holds)."""
    body = MoaiToml.model_json_schema(schema_generator=_TomlJsonSchema, ref_template="#/definitions/{model}")
    definitions = body.pop("$defs")  # draft-07's name for them (older Taplo follows no other)
    return {"$schema": JSON_SCHEMA_DRAFT, **body, "definitions": definitions}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
