"""Benchgate's own settings, typed and defaulted once: built in the factory, read with settings().

`app.config` stays what Flask and its extensions read (SECRET_KEY, cookies, SQLAlchemy);
Benchgate's code reads a frozen `Settings`, so no module converts or defaults a value again.
A test that changes a setting after the app is built calls `reconfigure(app, NAME=value)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from flask import Flask, current_app

EXTENSION = "settings"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class Settings:
    """Every Benchgate setting, named as its environment variable in lower case (README)."""

    redis_url: str
    work_dir: Path
    rq_queues: tuple[str, ...]
    run_queue: str

    # Downloads
    fetch_allowed_hosts: str
    fetch_connect_timeout: float
    fetch_read_timeout: float
    max_config_bytes: int
    max_parameters_bytes: int
    max_additional_files_bytes: int
    max_demo_bytes: int
    max_archive_members: int
    max_unpacked_bytes: int

    # Containers
    image_pull_policy: str
    allowed_registries: str
    container_memory_bytes: int
    container_nano_cpus: int
    container_pids_limit: int
    container_shm_max_bytes: int
    container_tmpfs_bytes: int
    container_timeout_seconds: float
    container_user: str | None  # None: the worker's uid:gid, or 65534:65534 for root
    worker_gpus: bool
    keep_work_dirs: bool
    max_output_bytes: int
    max_output_entries: int
    max_output_depth: int
    job_min_bytes_per_second: int
    job_margin_seconds: float
    max_log_bytes: int
    max_log_line_chars: int

    # Web
    mail_url: str
    mail_from: str
    public_url: str
    verify_link_hours: float
    reset_link_minutes: float
    session_lifetime_days: float
    session_hours: float
    password_hash_method: str
    signin_limit: str
    signin_address_limit: str
    signup_limit: str
    proxy_hops: int
    page_size: int
    page_cache_chars: int
    page_cache_seconds: float
    db_ping_after_seconds: float
    sse_max_per_member: int
    sse_max_per_process: int  # 0 in the config: half of web_threads
    sse_block_ms: int
    web_threads: int
    api_token_limit: str
    api_page_max: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Read every setting from a Flask config that holds them all (app.config.Config)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = config[field.name.upper()]
            values[field.name] = _CONVERT[field.type](raw)
        values["rq_queues"] = queue_names(config["RQ_QUEUES"])
        values["container_user"] = config["CONTAINER_USER"] or None
        values["public_url"] = config["PUBLIC_URL"] or DEFAULT_PUBLIC_URL
        if not values["sse_max_per_process"]:
            values["sse_max_per_process"] = max(1, values["web_threads"] // 2)
        return cls(**values)


def _flag(raw: Any) -> bool:
    if isinstance(raw, str):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return bool(raw)


_CONVERT = {
    "str": str,
    "int": int,
    "float": float,
    "bool": _flag,
    "Path": Path,
    "str | None": lambda raw: raw,
    "tuple[str, ...]": lambda raw: raw,
}


def queue_names(setting: str) -> tuple[str, ...]:
    """Split a comma-separated list of queue names."""
    return tuple(name.strip() for name in setting.split(",") if name.strip())


def init_settings(app: Flask) -> Settings:
    """Build the app's settings from its config, once, in the factory."""
    built = Settings.from_config(app.config)
    app.extensions[EXTENSION] = built
    return built


def settings(app: Flask | None = None) -> Settings:
    """The settings of the app (the current one when not given)."""
    return (app or current_app).extensions[EXTENSION]


def reconfigure(app: Flask, **values: Any) -> Settings:
    """Change settings of a built app, as a test does: its config, then its Settings again."""
    app.config.update(values)
    return init_settings(app)
