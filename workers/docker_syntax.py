"""Docker's own little languages: image references, digests, memory sizes and GPU requests."""

from __future__ import annotations

import re

# Grammar of distribution/reference, which `docker pull` and the SDK both follow.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"sha256:[0-9a-f]{64}"
_NAME_RE = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*", re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST)
_MAX_NAME_LENGTH = 255

# docker-py's parse_bytes understands b, k, m and g, optionally followed by "b" ("512mb").
# Docker's own size grammar (its RAMInBytes): "512m", "1g", "1.5GiB", "2048", "64 kb".
_SIZE_RE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>[kmgtp])?i?b?", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}

# NVIDIA device ids are indexes ("0") or UUIDs ("GPU-3a1f...", "MIG-..."); nothing else.
_GPU_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")

IMAGE_EXAMPLE = "example/chest-prep:1.0 or example/chest-prep@sha256:<64 hex digits>"


def split_image_reference(ref: str) -> tuple[str, str | None, str | None]:
    """Split a reference into (name, tag, digest) without checking them."""
    name, _, digest = ref.partition("@")
    # A colon after the last slash starts the tag; one before it belongs to a registry port.
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def image_reference_problem(ref: str) -> str | None:
    """Return why ``ref`` is not a usable Docker image reference, or None when it is."""
    example = f"write it like {IMAGE_EXAMPLE}"
    if not ref or not ref.strip():
        return f"is empty; {example}"
    if ref != ref.strip() or any(ch.isspace() for ch in ref):
        return f"must not contain spaces; {example}"
    if "://" in ref:
        return f"must be an image name, not a web address; {example}"
    name, tag, digest = split_image_reference(ref)
    if "@" in ref and digest is None:
        return "ends with '@' but no digest follows; give sha256:<64 hex digits> after '@'"
    if digest is not None and not is_valid_digest(digest):
        return "has a digest that is not sha256: followed by 64 lower-case hex digits"
    if tag == "":
        return "ends with ':' but no tag follows; give a tag such as 1.0 after ':'"
    if tag is not None and not _TAG_RE.fullmatch(tag):
        return (
            f"has an invalid tag '{tag}'; a tag is up to 128 letters, digits, '_', '.' or '-' "
            "and does not start with '.' or '-'"
        )
    if len(name) > _MAX_NAME_LENGTH:
        return f"has a name longer than {_MAX_NAME_LENGTH} characters"
    if not _NAME_RE.fullmatch(name):
        if _NAME_RE.fullmatch(_lower_path(name)):
            return f"must be written in lower case; {example}"
        return f"is not a valid image name; {example}"
    return None


def is_valid_image_reference(ref: str) -> bool:
    """Tell whether ``ref`` is name[:tag][@sha256:<hex>] in Docker's grammar."""
    return isinstance(ref, str) and image_reference_problem(ref) is None


def is_valid_digest(value: str) -> bool:
    """Tell whether ``value`` is "sha256:" followed by 64 lower-case hex digits."""
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None


def parse_size(value: str | int) -> int:
    """Return the number of bytes in a Docker size such as "1g", "512m" or 2048.

    Raises:
        ValueError: when the value is not such a size.
    """
    if isinstance(value, bool):
        raise ValueError("not a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("negative size")
        return value
    match = _SIZE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError("not a size")
    unit = (match["unit"] or "b").lower()
    return int(float(match["number"]) * _SIZE_UNITS[unit])


def normalize_gpus(value: object) -> str | int | None:
    """Return a GPU request as "all", a count, "device=0,1" or None (no GPUs).

    Accepts what MedPerf accepts: "all", a count (0 means none), a numeric string,
    "device=<ids>" and a list of device ids.

    Raises:
        ValueError: with a sentence saying what is wrong.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError('must be "all", a number of GPUs or "device=0,1", not true/false')
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value or None
    if isinstance(value, list):
        if not value:
            return None
        ids = [str(item) for item in value if isinstance(item, (str, int))]
        if len(ids) != len(value) or isinstance(value[0], bool):
            raise ValueError("must list GPU device ids such as [0, 1]")
        return _device_request(ids)
    if not isinstance(value, str):
        raise ValueError('must be "all", a number of GPUs or "device=0,1"')
    text = value.strip()
    if text == "all":
        return "all"
    if text.isdigit():
        return int(text) or None
    if text.startswith("device="):
        return _device_request(text.removeprefix("device=").split(","))
    raise ValueError(f'must be "all", a number of GPUs or "device=0,1", not \'{value}\'')


def _device_request(ids: list[str]) -> str:
    """Return "device=<ids>" after checking every id looks like a GPU index or UUID."""
    ids = [item.strip() for item in ids]
    if not ids or not all(_GPU_ID_RE.fullmatch(item) for item in ids):
        raise ValueError('must name GPU devices by index or UUID, such as "device=0,1"')
    return "device=" + ",".join(ids)


def _lower_path(name: str) -> str:
    """Return ``name`` with everything after its first slash lower-cased (for hints)."""
    head, slash, rest = name.partition("/")
    if not slash:
        return name.lower()
    return f"{head}{slash}{rest.lower()}"
