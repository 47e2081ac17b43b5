"""Throttling of the account forms: failed sign-ins per email and address, sign-ups per address.

Counts are kept in the installation's Redis, so every web process shares them, by `limits`
(the library under Flask-Limiter) rather than Flask-Limiter's decorators: only failed sign-ins
count, the refusal is shown in the form with what was typed, and no other page pays for a
check. While Redis is unreachable each process counts in its own memory instead.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from redis import Redis
from redis.exceptions import RedisError

from app.models import normalize_email

log = logging.getLogger(__name__)

EXTENSION = "throttle"


class Throttle:
    """The sign-in and sign-up limits of one app, counted in Redis or, failing that, memory."""

    def __init__(self, redis: Redis) -> None:
        # The app's own connections: nothing more to open, nor to close.
        shared = RedisStorage(
            "redis://", connection_pool=redis.connection_pool, key_prefix="throttle"
        )
        self._shared = SlidingWindowCounterRateLimiter(shared)
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())

    def _call(self, method: str, item: RateLimitItem, *ids: str):
        try:
            return getattr(self._shared, method)(item, *ids)
        except RedisError:
            log.warning("Redis unreachable: counting %s in this process only", ids[0])
            return getattr(self._local, method)(item, *ids)

    def _refusal(self, item: RateLimitItem, *ids: str) -> int | None:
        """Minutes until the next attempt is allowed, or None when it is allowed now."""
        if self._call("test", item, *ids):
            return None
        reset_at = self._call("get_window_stats", item, *ids).reset_time
        return max(1, math.ceil((reset_at - time.time()) / 60))

    def signin_refusal(self, email: str, address: str) -> str | None:
        """Say why this sign-in may not be tried now, or None."""
        minutes = self._refusal(_limit("SIGNIN_LIMIT"), "signin", address, normalize_email(email))
        if minutes is None:
            return None
        return (
            "Too many failed sign-ins with this email. To keep the account safe, sign-in is "
            f"paused: try again in {_minutes(minutes)}."
        )

    def count_failed_signin(self, email: str, address: str) -> None:
        """Count one failed sign-in with this email from this address."""
        self._call("hit", _limit("SIGNIN_LIMIT"), "signin", address, normalize_email(email))

    def signup_refusal(self, address: str) -> str | None:
        """Say why no account may be created from this address now, or None."""
        minutes = self._refusal(_limit("SIGNUP_LIMIT"), "signup", address)
        if minutes is None:
            return None
        return (
            "Many accounts were created from your network in a short time, so sign-up is "
            f"paused: try again in {_minutes(minutes)}, or ask an administrator."
        )

    def count_signup(self, address: str) -> None:
        """Count one account created from this address."""
        self._call("hit", _limit("SIGNUP_LIMIT"), "signup", address)


def _limit(setting: str) -> RateLimitItem:
    return parse(current_app.config[setting])


def _minutes(count: int) -> str:
    return "1 minute" if count == 1 else f"{count} minutes"


def init_throttle(app) -> None:
    """Give the app its throttle, on its Redis client's connections."""
    parse(app.config["SIGNIN_LIMIT"]), parse(app.config["SIGNUP_LIMIT"])  # a typo fails at start
    app.extensions[EXTENSION] = Throttle(app.extensions["redis"])


def throttle() -> Throttle:
    """The current app's throttle."""
    return current_app.extensions[EXTENSION]
