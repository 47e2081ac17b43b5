"""Unit tests: plain functions, no Flask server."""
