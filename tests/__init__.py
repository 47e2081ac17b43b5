"""Benchgate's test suite."""
