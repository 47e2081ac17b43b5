"""The core's run spec and pipeline settings, read from a run's records and the app's config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.database import installation_site
from app.extensions import db
from app.models import Container, Run
from workers.docker_tasks import RunnerSettings
from workers.fetch import FetchPolicy
from workers.log_budget import LogLimits
from workers.registry_policy import DEFAULT_REGISTRIES, RegistryPolicy
from workers.run_labels import SITE_LABEL
from workers.run_spec import SLOTS, PipelineSettings, RunSpec, SlotSpec


def pipeline_settings(config: Mapping[str, Any]) -> PipelineSettings:
    """Build the pipeline's settings from the Flask app's config mapping."""
    policy = FetchPolicy.from_setting(
        config.get("FETCH_ALLOWED_HOSTS", ""),
        connect_timeout=float(config.get("FETCH_CONNECT_TIMEOUT", 10)),
        read_timeout=float(config.get("FETCH_READ_TIMEOUT", 30)),
    )
    runner = RunnerSettings(
        memory_bytes=int(config["CONTAINER_MEMORY_BYTES"]),
        nano_cpus=int(config["CONTAINER_NANO_CPUS"]),
        pids_limit=int(config["CONTAINER_PIDS_LIMIT"]),
        shm_max_bytes=int(config["CONTAINER_SHM_MAX_BYTES"]),
        tmpfs_bytes=int(config["CONTAINER_TMPFS_BYTES"]),
        timeout_seconds=float(config["CONTAINER_TIMEOUT_SECONDS"]),
        user=config.get("CONTAINER_USER") or None,
        gpus_enabled=bool(config.get("WORKER_GPUS")),
        pull_policy=config["IMAGE_PULL_POLICY"],
        registries=RegistryPolicy.from_setting(
            config.get("ALLOWED_REGISTRIES", DEFAULT_REGISTRIES)
        ),
        max_line_chars=int(config.get("MAX_LOG_LINE_CHARS", 16_384)),
    )
    return PipelineSettings(
        policy=policy,
        runner=runner,
        max_config_bytes=int(config["MAX_CONFIG_BYTES"]),
        max_parameters_bytes=int(config["MAX_PARAMETERS_BYTES"]),
        max_additional_files_bytes=int(config["MAX_ADDITIONAL_FILES_BYTES"]),
        max_demo_bytes=int(config["MAX_DEMO_BYTES"]),
        max_archive_members=int(config["MAX_ARCHIVE_MEMBERS"]),
        max_unpacked_bytes=int(config["MAX_UNPACKED_BYTES"]),
        max_output_bytes=int(config["MAX_OUTPUT_BYTES"]),
        max_output_entries=int(config["MAX_OUTPUT_ENTRIES"]),
        max_output_depth=int(config["MAX_OUTPUT_DEPTH"]),
        labels={SITE_LABEL: installation_site(config)},
        log_limits=LogLimits(
            max_bytes=int(config.get("MAX_LOG_BYTES", LogLimits.max_bytes)),
            max_line_chars=int(config.get("MAX_LOG_LINE_CHARS", LogLimits.max_line_chars)),
        ),
    )


def spec_from_run(run: Run) -> RunSpec:
    """Read a Run record (and its registered containers) into a RunSpec."""
    slots: dict[str, SlotSpec] = {}
    for slot in SLOTS:
        given = run.inputs["slots"][slot]
        container_id = given.get("container_id")
        if container_id is None:
            slots[slot] = SlotSpec(
                slot=slot,
                name=_name_from_link(given["config_url"]),
                config_url=given["config_url"],
                config_sha256=given.get("config_sha256"),
                parameters_url=given.get("parameters_url"),
                parameters_sha256=given.get("parameters_sha256"),
                additional_files_url=given.get("additional_files_url"),
                additional_files_sha256=given.get("additional_files_sha256"),
                expected_digest=given.get("expected_digest"),
                digest_enforced=bool(given.get("expected_digest")),
            )
            continue
        c = db.session.get(Container, container_id)
        slots[slot] = SlotSpec(
            slot=slot,
            name=c.name,
            container_id=c.id,
            config_text=c.config_text,
            config_url=c.config_url,
            config_sha256=c.config_sha256,
            parameters_url=c.parameters_url,
            parameters_sha256=c.parameters_sha256,
            additional_files_url=c.additional_files_url,
            additional_files_sha256=c.additional_files_sha256,
            expected_digest=c.image_digest,
            digest_enforced=bool(c.image_digest) and (c.is_operational or c.digest_given),
        )
    return RunSpec(run_id=run.id, slots=slots, demo_url=run.demo_url, demo_sha256=run.demo_sha256)


def _name_from_link(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1] or url
