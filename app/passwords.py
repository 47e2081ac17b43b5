"""Password hashing: werkzeug's hashes, by the method the settings name."""

from __future__ import annotations

from werkzeug.security import DEFAULT_PBKDF2_ITERATIONS, check_password_hash, generate_password_hash

SCRYPT_MIN_COST = 2**15  # werkzeug's default scrypt cost (n)
PBKDF2_MIN_ITERATIONS = 600_000  # OWASP's floor for PBKDF2-HMAC-SHA256


def hash_password(password: str, method: str) -> str:
    """Return a salted hash of the password, made with method."""
    return generate_password_hash(password, method)


def password_matches(stored: str, password: str) -> bool:
    """Tell whether the password matches a stored hash (whatever method made it)."""
    return check_password_hash(stored, password)


def weakness(method: str) -> str | None:
    """Say why a hash method is unfit for real passwords, or None when it is fit.

    Raises:
        ValueError: not a method werkzeug knows (scrypt[:n:r:p] or pbkdf2[:hash[:iterations]]).
    """
    name, *parameters = method.split(":")
    try:
        if name == "scrypt":
            cost = int(parameters[0]) if parameters else SCRYPT_MIN_COST
            if cost < SCRYPT_MIN_COST:
                return f"scrypt with a cost under {SCRYPT_MIN_COST}"
            return None
        if name == "pbkdf2":
            rounds = int(parameters[1]) if len(parameters) > 1 else DEFAULT_PBKDF2_ITERATIONS
            if rounds < PBKDF2_MIN_ITERATIONS:
                return f"pbkdf2 with fewer than {PBKDF2_MIN_ITERATIONS:,} iterations"
            return None
    except ValueError:
        pass
    raise ValueError(
        f"PASSWORD_HASH_METHOD {method!r} is not a method Benchgate knows: use scrypt "
        "(the default) or pbkdf2:sha256:ITERATIONS"
    )
