"""Tests that need a real Docker engine."""
