"""Benchgate's core, free of Flask and the database: downloads, archives, the container format,
Docker, the pipeline's steps and its reporting. `app` depends on it; it imports nothing of `app`."""
