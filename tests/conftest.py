"""The suite's fixtures live in tests/support; this registers them for every test."""

pytest_plugins = [
    "tests.support.app",
    "tests.support.accounts",
    "tests.support.http_server",
    "tests.support.fetching",
    "tests.support.smtp",
    "tests.support.engine",
    "tests.support.trio",
    "tests.support.joins",
    "tests.support.browser",
]
