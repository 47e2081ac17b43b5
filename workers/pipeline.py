"""The compatibility test, step by step, as SPEC §3 lists them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.docker_runner import (
    DockerRunner,
    DockerUnavailable,
    EngineError,
    ImageRefused,
    ImageUnavailable,
    TaskNotStarted,
)
from workers.errors import PlatformError, RunCanceled, StepFailed
from workers.fetch import DownloadCache
from workers.inputs import FetchedInputs, fetch_all
from workers.outputs import OutputLimits, check_output, check_output_file
from workers.reporting import Reporter
from workers.roles import Role
from workers.run_labels import RUN_LABEL, TASK_LABEL
from workers.run_spec import PipelineSettings, RunSpec
from workers.steps import (
    Workspace,
    build_task,
    check_outcome,
    copy_tree_into,
    host_paths,
    prepared_data_uid,
    read_yaml_output,
    require_folder_output,
)


@dataclass
class Evidence:
    """What a passing run leaves for the administrator to review."""

    results: dict[str, Any]
    statistics: dict[str, Any]
    prepared_data_uid: str
    hashes: dict[str, str]
    digests: dict[str, str]


def run_pipeline(
    spec: RunSpec,
    report: Reporter,
    runner: DockerRunner,
    ws: Workspace,
    cache: DownloadCache,
    settings: PipelineSettings,
    evidence_so_far: dict[str, Any],
) -> Evidence:
    """Run the six steps; raise StepFailed (the submitter's problem) or PlatformError.

    `evidence_so_far` is filled as hashes and digests become known, so a failed run keeps them.
    """
    tasks = _Tasks(spec, report, runner, ws, settings)

    with report.step("fetch"):
        hashes = evidence_so_far.setdefault("hashes", {})
        digests = evidence_so_far.setdefault("digests", {})
        inputs = fetch_all(spec, ws, settings, runner, cache, report.say, hashes, digests)
        tasks.inputs = inputs
        if inputs.demo.metadata_path is not None:
            limits = tasks.limits("copying the demo metadata")
            copy_tree_into(inputs.demo.metadata_path, ws.metadata, "demo metadata", limits)

    with report.step("prepare"):
        tasks.run(Role.DATA_PREPARATOR, "prepare")
        report.say("Checking and hashing the prepared data")
        limits = tasks.limits("checking and hashing the prepared data")
        require_folder_output(
            ws.prepared_data, "prepared data", "prepare", Role.DATA_PREPARATOR, limits
        )
        _check_if_present(ws.metadata, "prepared metadata", limits)
        if ws.report_file.exists():
            check_output_file(ws.report_file, "report file", settings.max_output_bytes)
        folders = {"prepared data": ws.prepared_data, "prepared labels": ws.prepared_labels}
        uid = prepared_data_uid({w: p for w, p in folders.items() if p.exists()}, limits)
        evidence_so_far["prepared_data_uid"] = uid
        report.say(f"Prepared-data identity {uid}")

    with report.step("sanity_check"):
        tasks.run(Role.DATA_PREPARATOR, "sanity_check")

    with report.step("statistics"):
        tasks.run(Role.DATA_PREPARATOR, "statistics", requires="output_path")
        statistics = read_yaml_output(
            ws.statistics_file, "statistics", "statistics", Role.DATA_PREPARATOR
        )
        evidence_so_far["statistics"] = statistics

    with report.step("infer"):
        tasks.run(Role.MODEL, "infer", requires="output_path")
        limits = tasks.limits("checking the predictions")
        require_folder_output(ws.predictions, "predictions", "infer", Role.MODEL, limits)

    with report.step("evaluate"):
        tasks.run(Role.EVALUATOR, "evaluate", requires="output_path")
        results = read_yaml_output(ws.results_file, "results", "evaluate", Role.EVALUATOR)
        limits = tasks.limits("checking the evaluator's local outputs")
        _check_if_present(ws.evaluator_outputs, "evaluator local outputs", limits)

    return Evidence(
        results=results,
        statistics=statistics,
        prepared_data_uid=uid,
        hashes=inputs.hashes,
        digests=inputs.digests,
    )


def _check_if_present(folder: Path, what: str, limits: OutputLimits) -> None:
    if folder.exists():
        check_output(folder, what, limits)


class _Tasks:
    """Runs one container task of the run with its mounts, labels and limits."""

    def __init__(
        self,
        spec: RunSpec,
        report: Reporter,
        runner: DockerRunner,
        ws: Workspace,
        settings: PipelineSettings,
    ) -> None:
        self.spec = spec
        self.report = report
        self.runner = runner
        self.ws = ws
        self.settings = settings
        self.inputs: FetchedInputs | None = None

    def limits(self, doing: str) -> OutputLimits:
        """The limits on reading outputs, with a cancel check that names what was under way."""

        def cancel_check() -> None:
            if self.report.cancel_requested():  # throttled: cheap enough for every file
                raise RunCanceled(f"The run was canceled while Benchgate was {doing}.")

        return OutputLimits(
            max_bytes=self.settings.max_output_bytes,
            max_entries=self.settings.max_output_entries,
            max_depth=self.settings.max_output_depth,
            cancel_check=cancel_check,
        )

    def run(self, slot: Role, task_name: str, requires: str | None = None) -> None:
        self.report.check_canceled()
        assert self.inputs is not None, "the fetch step runs first"
        config = self.inputs.configs[slot]
        paths = host_paths(
            self.ws, task_name, slot, self.inputs.demo.data_path, self.inputs.demo.labels_path
        )
        labels = {**self.settings.labels, RUN_LABEL: str(self.spec.run_id), TASK_LABEL: task_name}
        task = build_task(config, task_name, slot, paths, labels)
        spec_task = config.tasks[task_name]
        if requires and requires not in spec_task.outputs:
            raise StepFailed(
                f"The {slot.noun}'s {task_name} task declares no "
                f"{requires} output volume, so its result cannot be read.",
                "bad_config",
            )
        self.report.say(f"Running {config.image} ({task_name})")
        try:
            outcome = self.runner.run_task(task, self.report.output, self.report.cancel_requested)
        except DockerUnavailable as error:
            raise PlatformError(
                f"Docker could not be reached: {error}", "docker_unreachable"
            ) from None
        except TaskNotStarted as error:
            raise StepFailed(str(error), "not_started") from None
        except ImageUnavailable as error:
            cause = "image_refused" if isinstance(error, ImageRefused) else "image_unavailable"
            raise StepFailed(str(error), cause) from None
        except EngineError as error:
            raise PlatformError(str(error), error.cause) from None
        check_outcome(
            outcome,
            task_name,
            slot,
            self.settings.runner.memory_bytes,
            self.settings.runner.timeout_seconds,
        )
