"""The core's run spec and pipeline settings, read from a run's records and the app's settings."""

from __future__ import annotations

from app.extensions import db
from app.models import Container, Run
from app.services.container_checks import registry_policy
from app.services.fetching import fetch_policy
from app.settings import Settings
from workers.docker_tasks import RunnerSettings
from workers.log_budget import LogLimits
from workers.roles import SLOTS
from workers.run_labels import SITE_LABEL
from workers.run_spec import PipelineSettings, RunSpec, SlotSpec


def pipeline_settings(config: Settings, site: str) -> PipelineSettings:
    """Build the pipeline's settings from the app's settings and its site id."""
    runner = RunnerSettings(
        memory_bytes=config.container_memory_bytes,
        nano_cpus=config.container_nano_cpus,
        pids_limit=config.container_pids_limit,
        shm_max_bytes=config.container_shm_max_bytes,
        tmpfs_bytes=config.container_tmpfs_bytes,
        timeout_seconds=config.container_timeout_seconds,
        user=config.container_user,
        gpus_enabled=config.worker_gpus,
        pull_policy=config.image_pull_policy,
        registries=registry_policy(config),
        max_line_chars=config.max_log_line_chars,
    )
    return PipelineSettings(
        policy=fetch_policy(config),
        runner=runner,
        max_config_bytes=config.max_config_bytes,
        max_parameters_bytes=config.max_parameters_bytes,
        max_additional_files_bytes=config.max_additional_files_bytes,
        max_demo_bytes=config.max_demo_bytes,
        max_archive_members=config.max_archive_members,
        max_unpacked_bytes=config.max_unpacked_bytes,
        max_output_bytes=config.max_output_bytes,
        max_output_entries=config.max_output_entries,
        max_output_depth=config.max_output_depth,
        labels={SITE_LABEL: site},
        log_limits=LogLimits(
            max_bytes=config.max_log_bytes, max_line_chars=config.max_log_line_chars
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
