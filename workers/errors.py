"""The failures a run can end with: the submitter's (StepFailed) or the platform's."""

from __future__ import annotations


class StepFailed(Exception):
    """A step failed for a reason the submitter can act on; the message says what and why.

    `cause` is a short code stored with the run (hash_mismatch, bad_archive, image_unavailable,
    image_refused, digest_mismatch, not_started, exit_code, out_of_memory, time_limit,
    no_output, bad_output, output_too_large, bad_config, download, canceled).
    """

    def __init__(
        self,
        message: str,
        cause: str,
        *,
        exit_code: int | None = None,
        log_tail: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.exit_code = exit_code
        self.log_tail = log_tail or []


class RunCanceled(StepFailed):
    """Someone canceled the run while a step was going on."""

    def __init__(
        self, message: str = "The run was canceled.", log_tail: list[str] | None = None
    ) -> None:
        super().__init__(message, "canceled", log_tail=log_tail)


class PlatformError(Exception):
    """The platform could not do its part (Docker unreachable, disk full...): not the user's fault.

    `cause` is a short code such as docker_unreachable, docker_error (the engine failed),
    container_removed (something else removed the task's container) or worker_lost.
    """

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
