"""The fetch step's work: downloads through the cache, hashes, safe unpacking, paths.yaml,
container configs and parameters, and image resolution with digest pinning. No Flask, no DB."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from workers.archive import ArchiveError, safe_unpack
from workers.container_config import ConfigError, ContainerConfig, parse_container_config
from workers.container_config import parse_parameters as parse_parameters_text
from workers.demo_paths import DemoPaths, DemoPathsError, read_demo_paths
from workers.docker_runner import (
    DockerRunner,
    DockerUnavailable,
    EngineError,
    ImageRefused,
    ImageUnavailable,
)
from workers.errors import PlatformError, StepFailed
from workers.fetch import DownloadCache, FetchError, HashMismatch, fetch_bytes
from workers.registry_policy import RegistryRefused
from workers.roles import Role
from workers.run_spec import PipelineSettings, RunSpec, SlotSpec
from workers.steps import Workspace
from workers.yamlsafe import YamlError

Say = Callable[[str], None]


@dataclass
class FetchedInputs:
    """What the fetch step produced for the container steps, and the evidence it recorded."""

    configs: dict[str, ContainerConfig]
    demo: DemoPaths
    hashes: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)


def _download_failure(error: FetchError, what: str) -> StepFailed:
    cause = "hash_mismatch" if isinstance(error, HashMismatch) else "download"
    return StepFailed(f"Could not use the {what}: {error}", cause)


def fetch_archive(
    url: str,
    expected_sha256: str | None,
    target: Path,
    what: str,
    max_bytes: int,
    settings: PipelineSettings,
    cache: DownloadCache,
    say: Say,
) -> str:
    """Download an archive through the cache, verify it, unpack it safely; return its hash."""
    say(f"Downloading the {what} from {url}")
    try:
        cached = cache.get(
            url, max_bytes=max_bytes, policy=settings.policy, expected_sha256=expected_sha256
        )
    except FetchError as error:
        raise _download_failure(error, what) from None
    say(f"The {what}: SHA-256 {cached.sha256}" + (" (from the cache)" if cached.from_cache else ""))
    try:
        safe_unpack(
            cached.path,
            target,
            max_members=settings.max_archive_members,
            max_bytes=settings.max_unpacked_bytes,
        )
    except ArchiveError as error:
        raise StepFailed(f"The {what} archive was refused: {error}", "bad_archive") from None
    return cached.sha256


def fetch_demo(
    spec: RunSpec, ws: Workspace, settings: PipelineSettings, cache: DownloadCache, say: Say
) -> tuple[DemoPaths, str]:
    """Download, verify and unpack the demo dataset; return its paths and hash."""
    sha = fetch_archive(
        spec.demo_url,
        spec.demo_sha256,
        ws.demo,
        "demo dataset",
        settings.max_demo_bytes,
        settings,
        cache,
        say,
    )
    try:
        paths = read_demo_paths(ws.demo)
    except DemoPathsError as error:
        raise StepFailed(f"The demo dataset is not usable: {error}", "bad_archive") from None
    return paths, sha


def load_config(
    slot: SlotSpec, settings: PipelineSettings, hashes: dict[str, str], say: Say
) -> ContainerConfig:
    """Return the slot's validated configuration (stored, or downloaded for ad-hoc links)."""
    who = Role(slot.slot).noun
    text: str | bytes | None = slot.config_text
    if text is None:
        say(f"Downloading the {who}'s configuration from {slot.config_url}")
        try:
            text, sha = fetch_bytes(
                slot.config_url,
                max_bytes=settings.max_config_bytes,
                policy=settings.policy,
                expected_sha256=slot.config_sha256,
            )
        except FetchError as error:
            raise _download_failure(error, f"{who}'s configuration file") from None
        hashes[f"{slot.slot}.config"] = sha
    elif slot.config_sha256:
        hashes[f"{slot.slot}.config"] = slot.config_sha256
    try:
        config = parse_container_config(text, max_bytes=settings.max_config_bytes)
    except (ConfigError, YamlError) as error:
        raise StepFailed(f"The {who}'s configuration is not valid: {error}", "bad_config") from None
    try:
        # Registered ones were checked when registered, but the policy may have changed since.
        settings.runner.registries.check(config.image)
    except RegistryRefused as error:
        raise StepFailed(f"The {who}'s image is refused. {error}", "image_refused") from None
    if config.role.value != slot.slot:
        raise StepFailed(
            f"The container given as {who} is a {config.role.noun}: "
            "its tasks do not fit this place.",
            "bad_config",
        )
    return config


def fetch_parameters(
    slot: SlotSpec,
    config: ContainerConfig,
    ws: Workspace,
    settings: PipelineSettings,
    cache: DownloadCache,
    hashes: dict[str, str],
    say: Say,
) -> None:
    """Download and check the slot's parameters file, and write it where the task sees it."""
    who = Role(slot.slot).noun
    target = ws.parameters_file(slot.slot)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not slot.parameters_url:
        if config.needs_parameters():
            raise StepFailed(
                f"The {who}'s configuration mounts a parameters file, but no "
                "parameters link was given.",
                "bad_config",
            )
        return
    say(f"Downloading the {who}'s parameters from {slot.parameters_url}")
    try:
        cached = cache.get(
            slot.parameters_url,
            max_bytes=settings.max_parameters_bytes,
            policy=settings.policy,
            expected_sha256=slot.parameters_sha256,
        )
        parameters = parse_parameters_text(
            cached.path.read_bytes(), max_bytes=settings.max_parameters_bytes
        )
    except FetchError as error:
        raise _download_failure(error, f"{who}'s parameters file") from None
    except YamlError as error:
        raise StepFailed(
            f"The {who}'s parameters file is not valid: {error}", "bad_config"
        ) from None
    hashes[f"{slot.slot}.parameters"] = cached.sha256
    target.write_text(yaml.safe_dump(parameters, sort_keys=False), encoding="utf-8")


def fetch_additional_files(
    slot: SlotSpec,
    ws: Workspace,
    settings: PipelineSettings,
    cache: DownloadCache,
    hashes: dict[str, str],
    say: Say,
) -> None:
    """Download, verify and unpack the slot's additional-files archive, when it has one."""
    if not slot.additional_files_url:
        return
    hashes[f"{slot.slot}.additional_files"] = fetch_archive(
        slot.additional_files_url,
        slot.additional_files_sha256,
        ws.additional_files(slot.slot),
        f"{Role(slot.slot).noun}'s additional files",
        settings.max_additional_files_bytes,
        settings,
        cache,
        say,
    )


def resolve_image(
    slot: SlotSpec, config: ContainerConfig, runner: DockerRunner, say: Say, digests: dict[str, str]
) -> str:
    """Make the slot's image present (pull policy) and check its digest against the pinned one."""
    who = Role(slot.slot).noun
    say(f"Resolving the {who}'s image {config.image}")
    try:
        digest = runner.resolve_image(config.image)
    except ImageRefused as error:
        raise StepFailed(f"The {who}'s image is refused. {error}", "image_refused") from None
    except ImageUnavailable as error:
        raise StepFailed(
            f"The {who}'s image {config.image} is not available: {error}", "image_unavailable"
        ) from None
    except DockerUnavailable as error:
        raise PlatformError(f"Docker could not be reached: {error}", "docker_unreachable") from None
    except EngineError as error:
        raise PlatformError(str(error), error.cause) from None
    say(f"The {who}'s image digest is {digest}")
    digests[slot.slot] = digest  # evidence, even when the check below fails the run
    if slot.digest_enforced and slot.expected_digest and slot.expected_digest != digest:
        raise StepFailed(
            f"The {who}'s image {config.image} has changed: its digest is {digest}, but "
            f"{slot.expected_digest} is pinned for {slot.name}.",
            "digest_mismatch",
        )
    return digest


def fetch_all(
    spec: RunSpec,
    ws: Workspace,
    settings: PipelineSettings,
    runner: DockerRunner,
    cache: DownloadCache,
    say: Say,
    hashes: dict[str, str],
    digests: dict[str, str],
) -> FetchedInputs:
    """Everything the fetch step does, in order; the first problem fails the step.

    `hashes` and `digests` are filled as they become known, so a failure keeps them.
    """
    demo, hashes["demo"] = fetch_demo(spec, ws, settings, cache, say)
    configs: dict[str, ContainerConfig] = {}
    for name, slot in spec.slots.items():
        configs[name] = load_config(slot, settings, hashes, say)
        fetch_parameters(slot, configs[name], ws, settings, cache, hashes, say)
        fetch_additional_files(slot, ws, settings, cache, hashes, say)
        digests[name] = resolve_image(slot, configs[name], runner, say, digests)
    return FetchedInputs(configs=configs, demo=demo, hashes=hashes, digests=digests)
