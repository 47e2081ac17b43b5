"""Downloads with the operator's settings: the fetch policy and the size cap of each kind of file.

Shared by the web forms and the worker pipeline; it knows nothing of requests or forms.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.settings import Settings
from workers.fetch import FetchError, FetchPolicy, checked_addresses, fetch_bytes, probe
from workers.fetch_guard import AddressRefused


def fetch_policy(config: Settings) -> FetchPolicy:
    """Build the download policy from FETCH_ALLOWED_HOSTS and the two FETCH_*_TIMEOUT settings."""
    return FetchPolicy.from_setting(
        config.fetch_allowed_hosts,
        connect_timeout=config.fetch_connect_timeout,
        read_timeout=config.fetch_read_timeout,
    )


def fetch_config_file(
    url: str, config: Settings, expected_sha256: str | None = None
) -> tuple[bytes, str]:
    """Download a container configuration file; return its bytes and SHA-256.

    Raises:
        FetchError: unreachable, refused, too large (MAX_CONFIG_BYTES) or a hash mismatch.
    """
    return fetch_bytes(
        url,
        max_bytes=config.max_config_bytes,
        policy=fetch_policy(config),
        expected_sha256=expected_sha256,
    )


def fetch_parameters_file(
    url: str, config: Settings, expected_sha256: str | None = None
) -> tuple[bytes, str]:
    """Download a parameters file; return its bytes and SHA-256.

    Raises:
        FetchError: unreachable, refused, too large (MAX_PARAMETERS_BYTES) or a hash mismatch.
    """
    return fetch_bytes(
        url,
        max_bytes=config.max_parameters_bytes,
        policy=fetch_policy(config),
        expected_sha256=expected_sha256,
    )


def probe_additional_files(url: str, config: Settings) -> None:
    """Check that an additional-files archive answers and is not announced above its cap.

    Raises:
        FetchError: unreachable, refused, or larger than MAX_ADDITIONAL_FILES_BYTES.
    """
    probe(url, policy=fetch_policy(config), max_bytes=config.max_additional_files_bytes)


def link_address_problem(url: str, config: Settings) -> str | None:
    """Say why a link's server may not be used (a refused address), or None.

    The same check runs again on every connection the worker makes, redirects included;
    doing it here lets the form say so before anything is queued. A name this server cannot
    resolve is left to the worker, which may sit on another network.
    """
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        checked_addresses(parts.hostname or "", port, fetch_policy(config))
    except AddressRefused as error:
        text = str(error)
        return text[:1].upper() + text[1:] + "."
    except (FetchError, ValueError):
        return None
    return None
