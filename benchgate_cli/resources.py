"""`benchgate containers register` and `benchgate benchmarks submit`."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_commands(commands, with_server: Callable) -> None:
    """Add the commands about containers and benchmarks."""
    return None


def _unused(args: argparse.Namespace) -> int:  # pragma: no cover
    return 0
