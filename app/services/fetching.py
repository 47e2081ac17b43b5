"""Downloads with the operator's settings: the fetch policy and the size cap of each kind of file.

Shared by the web forms and the worker pipeline; it knows nothing of requests or forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.fetch import FetchPolicy, fetch_bytes, probe


def fetch_policy(config: Mapping[str, Any]) -> FetchPolicy:
    """Build the download policy from FETCH_ALLOWED_HOSTS and the two FETCH_*_TIMEOUT settings."""
    return FetchPolicy.from_setting(
        config.get("FETCH_ALLOWED_HOSTS") or "",
        connect_timeout=float(config["FETCH_CONNECT_TIMEOUT"]),
        read_timeout=float(config["FETCH_READ_TIMEOUT"]),
    )


def fetch_config_file(
    url: str, config: Mapping[str, Any], expected_sha256: str | None = None
) -> tuple[bytes, str]:
    """Download a container configuration file; return its bytes and SHA-256.

    Raises:
        FetchError: unreachable, refused, too large (MAX_CONFIG_BYTES) or a hash mismatch.
    """
    return fetch_bytes(
        url,
        max_bytes=int(config["MAX_CONFIG_BYTES"]),
        policy=fetch_policy(config),
        expected_sha256=expected_sha256,
    )


def fetch_parameters_file(
    url: str, config: Mapping[str, Any], expected_sha256: str | None = None
) -> tuple[bytes, str]:
    """Download a parameters file; return its bytes and SHA-256.

    Raises:
        FetchError: unreachable, refused, too large (MAX_PARAMETERS_BYTES) or a hash mismatch.
    """
    return fetch_bytes(
        url,
        max_bytes=int(config["MAX_PARAMETERS_BYTES"]),
        policy=fetch_policy(config),
        expected_sha256=expected_sha256,
    )


def probe_additional_files(url: str, config: Mapping[str, Any]) -> None:
    """Check that an additional-files archive answers and is not announced above its cap.

    Raises:
        FetchError: unreachable, refused, or larger than MAX_ADDITIONAL_FILES_BYTES.
    """
    probe(url, policy=fetch_policy(config), max_bytes=int(config["MAX_ADDITIONAL_FILES_BYTES"]))
