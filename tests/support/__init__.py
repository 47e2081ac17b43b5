"""Fixtures and helpers shared by the tests, one module per area (see tests/conftest.py)."""
