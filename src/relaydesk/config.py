"""Settings, read from ``RELAYDESK_*`` environment variables (and an optional ``.env`` file)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Plan = Literal["standard", "pro", "enterprise"]


class PlanLimits(BaseModel):
    minute: int = Field(ge=1)
    day: int = Field(ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAYDESK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Directory for the embedded SQLite database and other local state.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means SQLite at DATA_DIR/relaydesk.db (WAL mode).",
    )
    redis_url: str | None = Field(default=None, description="Optional Redis URL for scale-out.")
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public base URL of this server: the API host link shown to users.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # How long (seconds) a token's last_used_on may lag behind reality; writes are batched.
    last_used_resolution_seconds: int = Field(default=60, ge=1)
    # Safety net for the auth cache: entries are re-read from the database at least this often
    # even if no change notification arrived.
    auth_cache_max_age_seconds: float = Field(default=30.0, ge=0)
    jwt_ttl_seconds: int = Field(
        default=900,
        ge=60,
        le=900,
        description="Lifetime of the JWTs POST /api/v3/jwts issues (docs/auth.md); at most 900.",
    )
    jwt_key_activation_seconds: float = Field(
        default=120,
        ge=0,
        description="`relaydesk keys rotate` publishes the new JWT signing key this long before "
        "it signs, so that verifiers caching the JWKS have it (docs/auth.md).",
    )
    db_pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections per process.")
    sqlite_pool_size: int = Field(
        default=2,
        ge=1,
        description="SQLite connections per process: each is a thread; more contend for the "
        "GIL (measured: 10 → 81, 2 → 116 list requests/s) while SQLite has one writer anyway.",
    )

    # -- rate limits (docs/rate-limits.md) ---------------------------------------------------
    rate_limits: Literal["on", "off"] = Field(
        default="on", description="off disables limiting entirely (trusted internal use)."
    )
    rate_limit_fail: Literal["open", "closed"] = Field(
        default="open",
        description="When Redis is unreachable: admit (open, logged) or answer 503 (closed).",
    )
    plan_limits: dict[str, PlanLimits] = Field(
        default_factory=lambda: {
            "standard": PlanLimits(minute=300, day=60_000),
            "pro": PlanLimits(minute=300, day=60_000),
            "enterprise": PlanLimits(minute=600, day=120_000),
        },
        description='JSON, e.g. {"standard": {"minute": 300, "day": 60000}, ...}',
    )
    endpoint_hour_limit: int = Field(default=2_500, ge=1)
    page_size: int = Field(
        default=250,
        ge=1,
        le=1000,
        description="Rows per page of REST v2 lists (RapidPro's is 250).",
    )
    endpoint_group_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Per endpoint group hourly limits, e.g. {"v2.contacts": 5000}.',
    )
    auth_failures_per_minute: int = Field(default=30, ge=1)
    redis_prefix: str = "relaydesk"

    # -- portal login (docs/auth.md#login-and-scopes) ----------------------------------------
    secret_key: str = Field(
        default="",
        description="Signs CSRF tokens. Empty: generated once and kept in DATA_DIR/secret_key "
        "(set it when several hosts serve the portal).",
    )
    session_max_age_seconds: int = Field(
        default=14 * 86400, ge=60, description="Lifetime of a portal login session."
    )
    login_failures_per_email: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)

    # -- webhooks (docs/webhooks.md) -------------------------------------------------------
    worker: Literal["embedded", "off"] = Field(
        default="embedded",
        description="embedded: `serve` also delivers webhooks; off: only `relaydesk worker` does.",
    )
    webhook_sender: Literal["auto", "inline", "process"] = Field(
        default="auto",
        description="Where webhook POSTs are made. process: a child process of the worker "
        "(two cores: one sends, one records); inline: in the worker's own event loop; auto: "
        "process for `relaydesk worker`, inline for the worker embedded in `serve`.",
    )
    webhook_retry_schedule: str = Field(
        default="10,120,900",
        description="Seconds before each retry after the first attempt, comma-separated "
        "(±10% jitter). Decimals allowed (tests use milliseconds).",
    )
    webhook_retention_days: float = Field(default=7, gt=0)
    webhook_allow_private: bool = Field(
        default=False,
        description="Tests and local development only: allow http and loopback/private targets.",
    )
    webhook_timeout_seconds: float = Field(default=15, gt=0)
    webhook_concurrency: int = Field(default=128, ge=1, description="Deliveries in flight.")
    webhook_endpoint_concurrency: int = Field(default=16, ge=1)
    webhook_workspace_concurrency: int = Field(default=64, ge=1)
    webhook_failure_window_seconds: float = Field(default=300, gt=0)
    webhook_failure_min_attempts: int = Field(default=10, ge=1)
    webhook_failure_threshold: float = Field(default=0.5, gt=0, lt=1)
    webhook_probe_interval_seconds: float = Field(default=60, gt=0)
    webhook_disable_after_seconds: float = Field(default=5 * 86400, gt=0)
    webhook_lease_seconds: float = Field(default=300, gt=0)
    webhook_poll_seconds: float = Field(default=0.25, gt=0)
    webhook_retry_after_cap_seconds: float = Field(default=3600, gt=0)
    webhook_secret_overlap_seconds: float = Field(default=86400, ge=0)

    # -- OAuth 2.0 provider (docs/auth.md) -------------------------------------------------
    oauth_access_token_seconds: int = Field(
        default=3600,
        ge=60,
        le=3600,
        description="Lifetime of OAuth access tokens (also implicit-grant ones); at most 3600.",
    )
    oauth_refresh_token_days: float = Field(
        default=30, gt=0, description="Lifetime of an OAuth refresh token (each refresh rotates)."
    )
    oauth_code_seconds: int = Field(
        default=60, ge=5, le=600, description="Lifetime of an authorization code (single-use)."
    )

    # -- email (docs/configuration.md#email) --------------------------------------------------
    smtp_host: str = Field(
        default="",
        description="SMTP server for outgoing email (property invitations); empty: no email "
        "is sent and inviting a member is refused.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = Field(default="", description="Empty: no SMTP login.")
    smtp_password: str = ""
    smtp_from: str = Field(
        default="Relaydesk <relaydesk@localhost>", description="The From: address of emails."
    )
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the connection with STARTTLS before logging in."
    )
    invitation_ttl_days: float = Field(
        default=7, gt=0, description="How long a property invitation's accept link works."
    )

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise ValueError("a comma-separated list of seconds, e.g. 10,120,900") from None
        if any(n < 0 for n in numbers):
            raise ValueError("retry delays must be >= 0")
        return ",".join(parts)

    @property
    def retry_schedule(self) -> list[float]:
        return [float(p) for p in self.webhook_retry_schedule.split(",") if p]

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'relaydesk.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def effective_secret_key(self) -> bytes:
        """``secret_key``, or the one generated into DATA_DIR/secret_key on first use (created
        atomically, mode 0600, so concurrent processes agree on it)."""
        if self.secret_key:
            return self.secret_key.encode()
        return _stored_secret(self.data_dir.resolve())


@lru_cache(maxsize=8)
def _stored_secret(data_dir: Path) -> bytes:
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fresh = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fresh.write_text(secrets.token_urlsafe(48))
        fresh.chmod(0o600)
        try:
            os.link(fresh, path)  # fails if another process created it first: keep theirs
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
