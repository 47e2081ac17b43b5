"""Settings: one Config class; an environment variable of the same name overrides each."""

from __future__ import annotations

import os
from typing import Any

DEFAULT_SECRET_KEY = "change-me"  # a production start refuses to run with it

GIB = 1 << 30
MIB = 1 << 20


class Config:
    """Defaults that work on a laptop; every name can be set in the environment."""

    SECRET_KEY = DEFAULT_SECRET_KEY
    DATABASE_URL = ""  # empty: a SQLite file in the instance folder
    REDIS_URL = "redis://127.0.0.1:6379/0"
    WORK_DIR = ""  # empty: <instance>/work
    RQ_QUEUES = "default"  # queues a worker listens on, comma-separated (e.g. "cpu,gpu")
    RUN_QUEUE = "default"  # queue compatibility tests are sent to

    # Downloads
    FETCH_ALLOWED_HOSTS = ""
    FETCH_CONNECT_TIMEOUT = 10.0
    FETCH_READ_TIMEOUT = 30.0
    MAX_CONFIG_BYTES = 1 * MIB
    MAX_PARAMETERS_BYTES = 1 * MIB
    MAX_ADDITIONAL_FILES_BYTES = 10 * GIB
    MAX_DEMO_BYTES = 10 * GIB
    MAX_ARCHIVE_MEMBERS = 100_000
    MAX_UNPACKED_BYTES = 50 * GIB

    # Containers
    IMAGE_PULL_POLICY = "if-not-present"
    # Registries images may come from (workers.registry_policy), comma-separated: "docker.io"
    # is Docker Hub under any of its names; host or host:port names a registry, private ones
    # included; "*" allows any registry whose name resolves only to public addresses; "local"
    # lets images already on a worker's engine run even when built, loaded or tagged there.
    ALLOWED_REGISTRIES = "docker.io"
    CONTAINER_MEMORY_BYTES = 4 * GIB
    CONTAINER_NANO_CPUS = 2_000_000_000
    CONTAINER_PIDS_LIMIT = 512
    CONTAINER_SHM_MAX_BYTES = 2 * GIB
    CONTAINER_TMPFS_BYTES = 1 * GIB
    CONTAINER_TIMEOUT_SECONDS = 3600.0
    CONTAINER_USER = ""  # empty: the worker's uid:gid, or 65534:65534 for root
    WORKER_GPUS = False
    KEEP_WORK_DIRS = False

    # Web
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # "auto": Secure cookies in production (not debug, not testing); set 0 to serve plain HTTP.
    COOKIES_SECURE = "auto"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # Email: smtp://user:pass@host:587 (STARTTLS) or smtps://host:465; empty: to the log.
    MAIL_URL = ""
    MAIL_FROM = "benchgate@localhost"
    PUBLIC_URL = ""  # the portal's address in mailed links (empty: http://127.0.0.1:8000/)
    VERIFY_LINK_HOURS = 48.0
    RESET_LINK_MINUTES = 60.0
    # A signed-in session with "remember me" lasts this long at most, one without it
    # SESSION_HOURS; sign-out, a password change and deactivation end them earlier.
    SESSION_LIFETIME_DAYS = 30.0
    SESSION_HOURS = 12.0  # a session without "remember me" (OWASP ASVS level 2: 12 hours)
    # How passwords are hashed (werkzeug's method string). Only tests may use a cheaper one
    # than scrypt's defaults (app.passwords.weakness): they hash hundreds of passwords.
    PASSWORD_HASH_METHOD = "scrypt"
    # Failed sign-ins allowed per email and address, and per address whatever the email;
    # sign-ups per address (the syntax of the limits library).
    SIGNIN_LIMIT = "10 per 15 minutes"
    SIGNIN_ADDRESS_LIMIT = "100 per 15 minutes"
    SIGNUP_LIMIT = "50 per hour"
    PROXY_HOPS = 0  # proxies in front of the web tier whose X-Forwarded-For/-Proto to trust
    WTF_CSRF_TIME_LIMIT = None  # a form left open over lunch still submits
    PAGE_SIZE = 25
    # Rendered lists kept by each web process (app.services.page_cache); 0 keeps none.
    PAGE_CACHE_CHARS = 16 * MIB
    PAGE_CACHE_SECONDS = 60.0  # the longest a change made outside the portal stays unseen
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    # A pooled connection idle this long is checked before use (0: before every use).
    DB_PING_AFTER_SECONDS = 5.0

    # What the worker reads of container outputs (each output folder on its own), and the
    # job time limit: 5 container tasks, plus moving every byte the limits allow at the
    # slowest expected speed, plus a margin (app.services.run_limits.job_timeout_seconds).
    MAX_OUTPUT_BYTES = 50 * GIB
    MAX_OUTPUT_ENTRIES = 100_000
    MAX_OUTPUT_DEPTH = 32
    JOB_MIN_BYTES_PER_SECOND = 20 * MIB
    JOB_MARGIN_SECONDS = 900

    # Web tier protections (app.security, app.runs.stream_slots)
    MAX_CONTENT_LENGTH = 1 * MIB  # the largest request body; the longest form sends ~200 KiB
    # Open live logs (each holds a web thread) allowed per member and in all, per web process;
    # 0 in all: half of WEB_THREADS, the threads gunicorn is started with.
    SSE_MAX_PER_MEMBER = 4
    SSE_MAX_PER_PROCESS = 0
    WEB_THREADS = 32
    SSE_BLOCK_MS = 15_000  # a quiet live log sends a keep-alive this often

    # Run logs (see README "Logs"): container output kept per run, shared equally by the
    # five steps that run containers (each keeps its first and last halves); a longer line
    # is cut. Redis holds at most about 1.5 times MAX_LOG_BYTES per run while it runs.
    MAX_LOG_BYTES = 20 * MIB
    MAX_LOG_LINE_CHARS = 16_384

    # API (app.api): requests each personal access token may make (the limits library's
    # syntax), and the largest page of a list or a log.
    API_TOKEN_LIMIT = "600 per minute"
    API_PAGE_MAX = 200

    @classmethod
    def as_dict(cls, environ: dict[str, str] | None = None) -> dict[str, Any]:
        """Return every setting, with environment values converted to each default's type."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in dir(cls):
            if not name.isupper():
                continue
            default = getattr(cls, name)
            values[name] = _convert(environ[name], default) if name in environ else default
        return values


def _convert(raw: str, default: Any) -> Any:
    """Read an environment string as the type of the setting's default."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, dict):
        raise ValueError("dictionary settings cannot come from the environment")
    return raw
