# Shell helpers shared by scripts/run and scripts/test: install and start what Benchgate needs.
# Sourced, not run. Works on a fresh Debian 12 machine as root, and without root when the
# packages are already there.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
INSTANCE="$ROOT/instance"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG...: install the Debian packages that are missing (needs root).
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "please install these Debian packages first: ${missing[*]}"
  say "Installing ${missing[*]}"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv REQUIREMENTS: create .venv and install the pinned requirements when they changed.
ensure_venv() {
  local requirements=$1
  command -v python3 >/dev/null || apt_install python3
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  [ -x "$VENV/bin/python" ] || { say "Creating .venv"; python3 -m venv "$VENV"; }
  local stamp="$VENV/.installed-$(basename "$requirements")"
  if [ ! -f "$stamp" ] || [ -n "$(find "$ROOT" -maxdepth 1 -name 'requirements*.txt' -newer "$stamp")" ]; then
    say "Installing Python packages from $(basename "$requirements")"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    touch "$stamp"
  fi
}

redis_answers() {  # redis_answers URL
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys
from redis import Redis
sys.exit(0 if Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping() else 1)
PY
}

# ensure_redis: use REDIS_URL when it answers, else start a private redis-server and export its URL.
ensure_redis() {
  REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
  if redis_answers "$REDIS_URL"; then
    say "Using the Redis at $REDIS_URL"
  else
    command -v redis-server >/dev/null || apt_install redis-server
    local port=6390
    mkdir -p "$INSTANCE/redis"
    say "Starting a private redis-server on 127.0.0.1:$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$INSTANCE/redis" --save 60 1 \
      --appendonly no --daemonize yes --pidfile "$INSTANCE/redis/redis.pid" \
      --logfile "$INSTANCE/redis/redis.log" >/dev/null
    REDIS_URL="redis://127.0.0.1:$port/0"
    PRIVATE_REDIS_PID_FILE="$INSTANCE/redis/redis.pid"
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
    redis_answers "$REDIS_URL" || die "redis-server did not start; see $INSTANCE/redis/redis.log"
  fi
  export REDIS_URL
}

stop_private_redis() {
  if [ -n "${PRIVATE_REDIS_PID_FILE:-}" ] && [ -f "$PRIVATE_REDIS_PID_FILE" ]; then
    kill "$(cat "$PRIVATE_REDIS_PID_FILE")" 2>/dev/null || true
  fi
}

# ensure_docker: make sure a Docker engine answers, installing and starting dockerd as root.
ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    echo "warning: the Docker engine at DOCKER_HOST=$DOCKER_HOST does not answer" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "warning: no Docker engine answers; compatibility tests will fail until one runs" >&2
    return 1
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || apt_install docker.io
  if ! pgrep -x dockerd >/dev/null; then
    rm -f /var/run/docker.pid  # left behind by a daemon killed with its session
    say "Starting dockerd"
    mkdir -p "$INSTANCE"
    nohup dockerd >"$INSTANCE/dockerd.log" 2>&1 &
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  die "dockerd did not start; see $INSTANCE/dockerd.log"
}
