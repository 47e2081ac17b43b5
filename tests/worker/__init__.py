"""Tests that run a real `flask worker` process."""
