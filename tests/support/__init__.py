"""Helpers for tests: private services and a loopback HTTP asset server."""
