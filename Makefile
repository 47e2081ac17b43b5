# Benchgate's everyday commands. Each installs what it needs on a Debian 12 machine.
.PHONY: run test lint format bench

run:  ## run the portal: web + worker, SQLite, Redis found or started, first admin printed
	@scripts/run

test:  ## run the whole test suite (TEST_DATABASE_URL=postgresql://... for PostgreSQL)
	@scripts/test

lint:  ## ruff lint and format check
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .
