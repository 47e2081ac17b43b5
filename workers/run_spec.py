"""What the pipeline needs to run a test: plain data (the app reads it from the run's record)."""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.docker_tasks import RunnerSettings
from workers.fetch import FetchPolicy
from workers.log_budget import LogLimits


@dataclass(frozen=True)
class SlotSpec:
    """One of the three containers: registered (config known) or ad hoc (config by link)."""

    slot: str
    name: str
    container_id: int | None = None
    config_text: str | None = None  # registered containers: validated at registration
    config_url: str | None = None
    config_sha256: str | None = None
    parameters_url: str | None = None
    parameters_sha256: str | None = None
    additional_files_url: str | None = None
    additional_files_sha256: str | None = None
    expected_digest: str | None = None
    digest_enforced: bool = False  # operational, or a digest the owner gave


@dataclass(frozen=True)
class RunSpec:
    """Everything a run executes: three slots and a demo dataset."""

    run_id: int
    slots: dict[str, SlotSpec]
    demo_url: str
    demo_sha256: str | None = None


@dataclass(frozen=True)
class PipelineSettings:
    """Operator settings the pipeline applies (the app builds them from its config)."""

    policy: FetchPolicy = field(default_factory=FetchPolicy)
    runner: RunnerSettings = field(default_factory=RunnerSettings)
    max_config_bytes: int = 1 << 20
    max_parameters_bytes: int = 1 << 20
    max_additional_files_bytes: int = 10 << 30
    max_demo_bytes: int = 10 << 30
    max_archive_members: int = 100_000
    max_unpacked_bytes: int = 50 << 30
    max_output_bytes: int = 50 << 30  # per output folder or file the worker checks or hashes
    max_output_entries: int = 100_000
    max_output_depth: int = 32
    labels: dict[str, str] = field(default_factory=dict)  # on every container of the run
    log_limits: LogLimits = field(default_factory=LogLimits)
