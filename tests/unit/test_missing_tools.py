"""Tests that need a missing tool skip on a developer's machine and fail under CI."""

import pytest

from tests.support.engine import missing


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_a_missing_engine_skips_outside_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="no Docker engine answers"):
        missing("no Docker engine answers")


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_missing_engine_fails_under_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="no Docker engine answers .*CI is set"):
        missing("no Docker engine answers")
