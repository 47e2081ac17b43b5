"""The `benchgate` command: Benchgate's API from a terminal or a CI job, with a token."""

__version__ = "1.0.0"
