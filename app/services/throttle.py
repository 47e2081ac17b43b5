"""Throttling of the account forms: failed sign-ins per email and address, sign-ups per address.

Counts are kept in the installation's Redis, so every web process shares them, by `limits`
(the library under Flask-Limiter) rather than Flask-Limiter's decorators: only failed sign-ins
count, the refusal is shown in the form with what was typed, and no other page pays for a
check. While Redis cannot be reached each process counts in its own memory instead.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from app.models import normalize_email
from app.settings import settings

log = logging.getLogger(__name__)

EXTENSION = "throttle"
REDIS_EXTENSION = "redis_throttle"
# A sign-in must not hang on an unreachable Redis: short timeouts, no retries, and after a
# failure the next half minute is counted in memory without trying Redis again.
REDIS_TIMEOUT = 0.5
MEMORY_AFTER_FAILURE = 30.0


def client_key(address: str) -> str:
    """The part of an address that names one client: an IPv6 client usually holds a /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


class Throttle:
    """The account forms' limits of one app, counted in Redis or, failing that, memory."""

    def __init__(self, redis: Redis) -> None:
        self._shared = SlidingWindowCounterRateLimiter(
            RedisStorage("redis://", connection_pool=redis.connection_pool, key_prefix="throttle")
        )
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._redis_failed_at = -math.inf
        self._lock = threading.Lock()

    def _call(self, method: str, item: RateLimitItem, *ids: str):
        if time.monotonic() - self._redis_failed_at > MEMORY_AFTER_FAILURE:
            try:
                return getattr(self._shared, method)(item, *ids)
            except RedisError:
                log.warning("Redis unreachable: sign-in limits counted in this process for now")
                with self._lock:
                    self._redis_failed_at = time.monotonic()
        return getattr(self._local, method)(item, *ids)

    def _minutes_left(self, item: RateLimitItem, *ids: str) -> int:
        reset_at = self._call("get_window_stats", item, *ids).reset_time
        return max(1, math.ceil((reset_at - time.time()) / 60))

    def take_signin_attempt(self, email: str, address: str) -> str | None:
        """Count a sign-in attempt before its password is checked; say why not, or None.

        Counting first, in one atomic step, keeps concurrent guesses from all passing a check
        made before any of them failed. A successful sign-in gives its attempt back.
        """
        client = client_key(address)
        if not self._call("test", parse(settings().signin_address_limit), "signin", client):
            minutes = self._minutes_left(parse(settings().signin_address_limit), "signin", client)
            return (
                "Too many failed sign-ins from your network. Sign-in is paused for it: try "
                f"again in {_minutes(minutes)}."
            )
        pair = ("signin", client, normalize_email(email))
        if not self._call("hit", parse(settings().signin_limit), *pair):
            minutes = self._minutes_left(parse(settings().signin_limit), *pair)
            return (
                "Too many failed sign-ins with this email. To keep the account safe, sign-in is "
                f"paused: try again in {_minutes(minutes)}. If you forgot your password, ask an "
                "administrator for a new one."
            )
        return None

    def signin_failed(self, address: str) -> None:
        """Count a failed sign-in against the whole address (any email)."""
        self._call("hit", parse(settings().signin_address_limit), "signin", client_key(address))

    def signin_succeeded(self, email: str, address: str) -> None:
        """Forget the failed sign-ins of this email from this address."""
        pair = ("signin", client_key(address), normalize_email(email))
        self._call("clear", parse(settings().signin_limit), *pair)

    def take_signup(self, address: str) -> str | None:
        """Count a sign-up attempt that passed the form's checks; say why not, or None.

        Refused sign-ups count too: otherwise "this email already has an account" could be
        asked of any number of emails.
        """
        client = client_key(address)
        if self._call("hit", parse(settings().signup_limit), "signup", client):
            return None
        minutes = self._minutes_left(parse(settings().signup_limit), "signup", client)
        return (
            "Many accounts were asked for from your network in a short time, so sign-up is "
            f"paused: try again in {_minutes(minutes)}, or ask an administrator."
        )

    def take_api_request(self, token_id: int) -> int | None:
        """Count one API request made with a token; None, or the seconds to wait."""
        item = parse(settings().api_token_limit)
        if self._call("hit", item, "api", str(token_id)):
            return None
        reset_at = self._call("get_window_stats", item, "api", str(token_id)).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def _minutes(count: int) -> str:
    return "1 minute" if count == 1 else f"{count} minutes"


def init_throttle(app) -> None:
    """Give the app its throttle, with a Redis client of its own that gives up quickly."""
    limits = settings(app)
    for limit in (
        limits.signin_limit,
        limits.signin_address_limit,
        limits.signup_limit,
        limits.api_token_limit,
    ):
        parse(limit)  # a typo in a setting fails at start, not at sign-in
    redis = Redis.from_url(
        settings(app).redis_url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )
    app.extensions[REDIS_EXTENSION] = redis
    app.extensions[EXTENSION] = Throttle(redis)


def throttle() -> Throttle:
    """The current app's throttle."""
    return current_app.extensions[EXTENSION]
