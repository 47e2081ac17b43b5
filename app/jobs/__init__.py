"""What RQ calls (tasks), the worker process that calls it, and the glue between the core
(`workers`) and the app: run specs and settings from records and config, Redis reporting."""
