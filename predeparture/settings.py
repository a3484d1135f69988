"""All configuration, from PREDEPARTURE_* environment variables or a .env file.

Nested values use a double underscore: PREDEPARTURE_TEMPORAL__ADDRESS=temporal:7233,
PREDEPARTURE_SIMULATOR__SEED=7, PREDEPARTURE_POLICY__OVERRIDES='{"US": {"travel_document_kind": "boarding_letter"}}'.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import PolicyBook


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "predeparture-departures"
    ui_port: int = 8233
    namespace_retention: timedelta = Field(
        default=timedelta(days=7), ge=timedelta(days=1), description="how long the embedded dev server keeps a "
        "closed workflow's (encrypted) history; production sets its namespace's own "
        "(docker-compose: TEMPORAL_RETENTION)"
    )


class AdapterKind(StrEnum):
    SIMULATOR = "simulator"
    HTTP = "http"  # the partner organisation's own service, over the published contract (partners/contract)


class PartnerAdapters(BaseModel):
    """Which adapter serves each partner role."""

    exit_permits: AdapterKind = AdapterKind.SIMULATOR
    travel_documents: AdapterKind = AdapterKind.SIMULATOR
    medical: AdapterKind = AdapterKind.SIMULATOR
    orientation: AdapterKind = AdapterKind.SIMULATOR
    travel: AdapterKind = AdapterKind.SIMULATOR


class PartnerEndpoint(BaseModel):
    """One partner organisation's service, for a role whose adapter is "http"."""

    organisation_id: str = Field(min_length=1, description="the partner organisation this endpoint belongs to")
    base_url: str = Field(min_length=1, description="e.g. https://permits.example.org/v1")
    api_key: SecretStr = Field(description="the credential we present (Authorization: Bearer)")
    callback_secret: SecretStr | None = Field(
        default=None, min_length=16, description="the HMAC key the partner signs its callbacks with; when set, the "
        "API refuses this role's callbacks without a valid X-Partner-Signature"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="a whole request, read included")
    connect_timeout_seconds: float = Field(default=3.0, gt=0)
    max_connections: int = Field(default=20, ge=1, description="pooled connections to this partner")


class PartnerNetwork(BaseModel):
    """Where each network partner lives, per role (only read for roles whose adapter is "http")."""

    exit_permits: PartnerEndpoint | None = None
    travel_documents: PartnerEndpoint | None = None
    medical: PartnerEndpoint | None = None
    orientation: PartnerEndpoint | None = None
    travel: PartnerEndpoint | None = None
    callback_max_skew: timedelta = Field(
        default=timedelta(minutes=5), gt=timedelta(0), description="older or future-dated signed callbacks are refused"
    )


class PartnerCallbackClient(BaseModel):
    """Client credentials we issued a partner system (`predeparture users create-client`), for its callbacks."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr


class PartnersSimSettings(BaseModel):
    """`predeparture partners-sim`: the partner side of the published contract, simulated, as its own server. It
    accepts the `api_key` of each role in `partner_network` and signs callbacks with that role's `callback_secret`."""

    host: str = "127.0.0.1"
    port: int = Field(default=8100, ge=1, le=65535)
    api_url: str | None = Field(default=None, description="our API, to send the partners' callbacks to; None: "
                                                          "decisions are only read by polling")
    callback_clients: dict[str, PartnerCallbackClient] = Field(
        default_factory=dict, description='role -> {"client_id": ..., "client_secret": ...}: how each partner role '
        "authenticates its callbacks (exit_permits, travel_documents)")
    admin_token: SecretStr | None = Field(default=None, description="required by /admin/* (faults, stats) when set")


class SimulatorSettings(BaseModel):
    """How the partner simulators behave. The same seed gives the same answers to the same requests.

    Durations are ISO 8601 in the environment (P20D, PT30S). `predeparture dev` and `demo` use
    `SimulatorSettings.demo()`, which shrinks the months a permit takes to seconds so a demo family departs within
    minutes.
    """

    seed: int = 2026
    latency_ms: float = Field(default=20.0, ge=0, description="mean latency of each partner call")
    transient_failure_rate: float = Field(default=0.05, ge=0, le=1, description="share of calls failing, retried")
    permit_delay_min: timedelta = timedelta(days=20)
    permit_delay_max: timedelta = Field(default=timedelta(days=150), description="waits of months are normal")
    permit_refusal_rate: float = Field(default=0.02, ge=0, le=1)
    permit_validity: timedelta = timedelta(days=365)
    document_delay_min: timedelta = timedelta(days=5)
    document_delay_max: timedelta = timedelta(days=45)
    document_refusal_rate: float = Field(default=0.0, ge=0, le=1)
    document_validity: timedelta = timedelta(days=365)
    appointment_lead: timedelta = Field(default=timedelta(days=2), description="first free clinic slot")
    orientation_session_every: timedelta = timedelta(days=7)
    orientation_session_length: timedelta = Field(default=timedelta(days=3), description="3-4 days (EU)")
    orientation_no_show_rate: float = Field(default=0.03, ge=0, le=1)
    orientation_session_seats: int = Field(default=25, ge=1, description="seats in one orientation class")
    flight_min_lead: timedelta = Field(default=timedelta(days=0), description="earliest a flight departs after booking")
    flight_spread_days: int = Field(default=6, ge=0, description="flights leave 0..N days after the earliest date")
    flight_exact_lead: bool = Field(
        default=False, description="flights leave exactly flight_min_lead after booking, to the second (benchmarks)"
    )
    no_seats_rate: float = Field(default=0.1, ge=0, le=1, description="share of flight dates with no seats left")

    @classmethod
    def demo(cls, seed: int = 2026) -> SimulatorSettings:
        return cls(
            seed=seed,
            latency_ms=5,
            transient_failure_rate=0.05,
            permit_delay_min=timedelta(seconds=5),
            permit_delay_max=timedelta(seconds=40),
            document_delay_min=timedelta(seconds=3),
            document_delay_max=timedelta(seconds=20),
            appointment_lead=timedelta(seconds=2),
            orientation_session_every=timedelta(seconds=20),
            orientation_session_length=timedelta(seconds=10),
            flight_min_lead=timedelta(seconds=60),
            flight_spread_days=0,
        )


# Per caller: "<count>/<period>", e.g. 30/minute or 1000/hour (the `limits` package's notation).
RATE = r"^\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day)s?$"


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="larger request bodies are refused (413)")
    rate_limits_enabled: bool = Field(default=True, description="off only for benchmarks that measure raw latency")
    rate_limit_storage: str = Field(
        default="memory://", description="limits storage URI: memory:// counts per process; redis://host:6379 shares "
        "the counts between API processes (needs the redis package)"
    )
    rate_limit_departures: str = Field(default="30/minute", pattern=RATE, description="start, defer, cancel, re-date")
    rate_limit_case_list: str = Field(default="120/minute", pattern=RATE, description="GET /cases with its filters")
    rate_limit_manifest: str = Field(default="60/minute", pattern=RATE, description="arrivals and arrival manifests")
    rate_limit_callbacks: str = Field(default="600/minute", pattern=RATE, description="partners' callbacks")
    rate_limit_medical_results: str = Field(default="300/minute", pattern=RATE, description="results a clinic submits")
    rate_limit_login: str = Field(default="20/minute", pattern=RATE, description="token requests per client address")
    jwt_secret: SecretStr | None = Field(
        default=None, min_length=32,
        description="HS256 key signing access tokens; the embedded run makes one in data_dir/jwt.key",
    )
    token_ttl: timedelta = Field(default=timedelta(minutes=30), gt=timedelta(0), description="access token lifetime")
    token_issuer: str = Field(default="predeparture", min_length=1)
    token_audience: str = Field(default="predeparture-api", min_length=1)
    auth_cache_ttl: timedelta = Field(
        default=timedelta(seconds=5), ge=timedelta(0),
        description="how long one API process trusts its last look that a token is not revoked and its account "
        "active; revocations through this process apply at once, others within this delay",
    )
    readiness_timeout: timedelta = Field(
        default=timedelta(seconds=1), gt=timedelta(0),
        description="how long /readyz waits for the database and for Temporal before it calls either down",
    )
    drain_delay: timedelta = Field(
        default=timedelta(0), ge=timedelta(0),
        description="after SIGTERM, /readyz answers 503 for this long while requests are still served, so a load "
        "balancer stops sending before the API stops accepting",
    )
    shutdown_timeout: timedelta = Field(
        default=timedelta(seconds=30), gt=timedelta(0),
        description="once the API stops accepting, how long requests in flight may take before they are cut off",
    )


class TracesExporter(StrEnum):
    NONE = "none"
    OTLP = "otlp"  # OTLP over HTTP/protobuf to `otlp_endpoint` (a collector, Jaeger, Tempo, ...)
    CONSOLE = "console"  # each finished span printed on stdout, for a look on one machine


class LogFormat(StrEnum):
    CONSOLE = "console"  # coloured lines for a person at a terminal
    JSON = "json"  # one JSON object per line, for a log collector


class TelemetrySettings(BaseModel):
    """Traces, metrics and logs. Off, traces cost nothing: no tracer, no interceptor, no header on any task."""

    traces_exporter: TracesExporter = TracesExporter.NONE
    otlp_endpoint: str = Field(default="http://127.0.0.1:4318/v1/traces", min_length=1,
                               description="where spans go when traces_exporter is otlp")
    service_name: str = Field(default="predeparture", min_length=1,
                              description="service.name of the spans, suffixed by the process: -api, -worker, -dev")
    trace_sample_ratio: float = Field(default=1.0, ge=0, le=1, description="share of new traces kept")
    worker_metrics_address: str = Field(
        default="", pattern=r"^$|^.+:\d+$", description="host:port where the worker serves the Temporal SDK's "
        "metrics at /metrics for Prometheus; empty: not served"
    )
    log_format: LogFormat = LogFormat.CONSOLE


class DocumentSettings(BaseModel):
    """The papers a departure issues: where their QR codes point, how many processes render them, and who signs
    the arrival manifests."""

    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="the API's public address; each paper's QR code opens "
        "<this>/verify/<reference>"
    )
    render_processes: int = Field(default=2, ge=1,
                                  description="worker processes rendering PDFs, fonts loaded once each")
    manifest_issuer_id: str = Field(default="org_movement_operations", min_length=1,
                                    description="the organisation issuing arrival manifests")
    manifest_issuer_name: str = Field(default="Movement operations", min_length=1, description="printed as issuer")


class CodecServerSettings(BaseModel):
    """The codec server the Temporal UI (and `temporal --codec-endpoint`) calls to show payloads in clear, to
    operators only (predeparture.codec_server). Off unless enabled: every decode is a disclosure."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8234, ge=1, le=65535)
    public_url: str | None = Field(default=None, description="where browsers reach it, given to the Temporal UI; "
                                                             "default http://host:port")
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8233", "http://localhost:8233"],
        description="the Temporal UI's origins, the only pages whose scripts may call it (CORS, with credentials)")


class RetentionSettings(BaseModel):
    """How long personal data stays in the store after a family arrived (workflows.retention, on a schedule)."""

    enabled: bool = Field(default=True, description="the worker keeps the schedule; off: it deletes it")
    after_arrival: timedelta = Field(default=timedelta(days=365), ge=timedelta(days=1))
    overrides: dict[str, timedelta] = Field(
        default_factory=dict, description="per destination (ISO alpha-2 country code), e.g. {\"US\": \"P730D\"}")
    every: timedelta = Field(default=timedelta(days=1), ge=timedelta(minutes=1), description="how often it runs")
    batch_size: int = Field(default=100, ge=1, le=10_000, description="cases per activity (one transaction each)")


class WorkerSettings(BaseModel):
    """What one worker keeps in memory. Each cached workflow holds its own sandbox, about 0.4 MiB for a departure
    (measured by `predeparture bench --only load`); a departure not cached is rebuilt from its history when it
    wakes, which most do once a day. The cache size is what bounds a worker's memory, not the departures open."""

    max_cached_workflows: int = Field(default=1000, ge=0, description="workflows kept in memory between tasks")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PREDEPARTURE_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Path(".predeparture")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite in the data directory"
    )
    encryption_key: SecretStr | None = Field(
        default=None, description="base64 of 32 random bytes (AES-256-GCM); the embedded run makes one in data_dir"
    )
    encryption_key_id: str = "k1"
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    partners: PartnerAdapters = Field(default_factory=PartnerAdapters)
    partner_network: PartnerNetwork = Field(default_factory=PartnerNetwork)
    partners_sim: PartnersSimSettings = Field(default_factory=PartnersSimSettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    policy: PolicyBook = Field(default_factory=PolicyBook)
    api: ApiSettings = Field(default_factory=ApiSettings)
    documents: DocumentSettings = Field(default_factory=DocumentSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    codec_server: CodecServerSettings = Field(default_factory=CodecServerSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'predeparture.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
