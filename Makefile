# Benchgate's everyday commands. Each installs what it needs on a Debian 12 machine.
.PHONY: run test lint format bench

run:  ## run the portal: web + worker, SQLite, Redis found or started, first admin printed
	@scripts/run

test:  ## run the whole test suite (TEST_DATABASE_URL=postgresql://... for PostgreSQL)
	@scripts/test

bench:  ## the benchmarks of bench/, smaller sizes; see the README for full-size figures
	@.venv/bin/python bench/fetch.py --rounds 3 --size-mib 256
	@.venv/bin/python bench/compat_overhead.py --rounds 5
	@.venv/bin/python bench/log_latency.py --lines 20000

lint:  ## ruff lint and format check, and the import contracts of pyproject.toml
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .
	@.venv/bin/lint-imports --no-cache --no-logo

format:
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .
