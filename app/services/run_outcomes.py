"""What a finished run means for the record that asked for it: one handler per run kind.

The modules that own runs (benchmarks, join requests) each provide a handler for their kind;
the application factory registers them once (app.register_run_outcomes), as a table read in
one place. The run lifecycle calls settle(run) inside the transaction that ends the run, and
so imports none of the records that own runs.
"""

from __future__ import annotations

from collections.abc import Callable

from app.models import Run, RunKind, RunStatus

Handler = Callable[[Run], None]

# How a notification words a run that did not pass.
ENDINGS = {
    RunStatus.FAILED: "did not pass",
    RunStatus.CANCELED: "was canceled",
    RunStatus.ERROR: "stopped because of a problem on the platform's side",
}

_handlers: dict[RunKind, Handler] = {}


def register(kind: RunKind, handler: Handler) -> None:
    """Make handler settle the runs of this kind (again with the same handler: no change).

    Raises:
        ValueError: another handler settles this kind already.
    """
    current = _handlers.get(kind)
    if current is not None and current is not handler:
        raise ValueError(f"{kind.value} runs are settled by {current.__qualname__} already")
    _handlers[kind] = handler


def handler_for(kind: RunKind) -> Handler:
    """Return the handler of a run kind.

    Raises:
        LookupError: nothing registered one (the factory's register_run_outcomes was not run).
    """
    try:
        return _handlers[kind]
    except KeyError:
        raise LookupError(f"no outcome handler is registered for {kind.value} runs") from None


def settle(run: Run) -> None:
    """Carry a finished run's outcome over to the record that asked for it (no commit)."""
    handler_for(run.kind)(run)


def nothing_to_settle(run: Run) -> None:
    """The handler of runs that only their requester reads (workflow tests)."""
