"""Checks of a container's files before it is recorded: links, downloads, hashes and the rules.

Every check runs even when another one failed, so the member sees all the problems at once.
Problems are gathered as plain sentences keyed by the form field they belong to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from app.services.fetching import (
    fetch_config_file,
    fetch_parameters_file,
    probe_additional_files,
)
from app.settings import Settings, settings
from workers.container_config import (
    ConfigError,
    ContainerConfig,
    YamlError,
    is_valid_digest,
    parse_container_config,
    parse_parameters,
)
from workers.fetch import FetchError, check_link
from workers.registry_policy import RegistryPolicy, RegistryRefused

if TYPE_CHECKING:
    from app.services.containers import ContainerLinks

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_HEX = frozenset("0123456789abcdef")

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class CheckedFiles:
    """What the checks learnt about a container's files, ready to be recorded."""

    role: str
    image: str
    config_sha256: str
    config_text: str
    parameters_sha256: str | None
    parameters: dict[str, Any] | None
    additional_files_url: str | None
    additional_files_sha256: str | None
    image_digest: str | None


def sentence(text: str) -> str:
    """Turn a lower-case message such as FetchError's into a sentence."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def link_problem(url: str | None, *, archive: bool = False) -> str | None:
    """Return why a link cannot be used, or None; archives must end like a tar file."""
    try:
        check_link(url or "")
    except FetchError as exc:
        return sentence(str(exc))
    if archive:
        path = unquote(urlsplit(url or "").path).lower()
        if not path.endswith(ARCHIVE_SUFFIXES):
            return (
                "The additional files must be one archive ending in .tar.gz, .tgz or .tar, "
                "for example https://files.example.org/weights.tar.gz."
            )
    return None


def check_files(links: ContainerLinks, errors: Errors) -> CheckedFiles | None:
    """Download and check every file of links; add problems to errors, return the files if ok."""
    problems_before = _count(errors)
    expected = {
        key: _expected_hash(getattr(links, key), key, errors)
        for key in ("config_sha256", "parameters_sha256", "additional_files_sha256")
    }
    digest = _image_digest(links.image_digest, errors)

    parsed: ContainerConfig | None = None
    config_text = ""
    config_sha256 = ""
    downloaded = _download(links.config_url, "config", expected["config_sha256"], errors)
    if downloaded is not None:
        content, config_sha256 = downloaded
        parsed = _parse_config(content, settings().max_config_bytes, errors)
        if parsed is not None:
            _check_registry(parsed.image, errors)
        config_text = content.decode("utf-8", "replace")

    parameters, parameters_sha256 = _check_parameters(links, parsed, expected, errors)
    _check_additional_files(links, expected, errors)

    if parsed is None or _count(errors) > problems_before:
        return None
    return CheckedFiles(
        role=parsed.role.value,
        image=parsed.image,
        config_sha256=config_sha256,
        config_text=config_text,
        parameters_sha256=parameters_sha256,
        parameters=parameters,
        additional_files_url=links.additional_files_url,
        additional_files_sha256=expected["additional_files_sha256"],
        image_digest=digest,
    )


def fetch_same_file(url: str, which: str, recorded: str | None, config: Settings) -> str | None:
    """Download a re-hosted configuration or parameters file; say why it is not the same one."""
    fetch = fetch_config_file if which == "config" else fetch_parameters_file
    try:
        _, actual = fetch(url, config)
    except FetchError as exc:
        return f"Benchgate could not download this file: {sentence(str(exc))}"
    if actual != recorded:
        return (
            f"The file at the new link is not the registered one: expected hash {recorded}, "
            f"got {actual}. Only the very same file can be re-hosted; a changed file needs a "
            "new container."
        )
    return None


def _count(errors: Errors) -> int:
    return sum(len(messages) for messages in errors.values())


def _add(errors: Errors, key: str, *messages: str) -> None:
    errors.setdefault(key, []).extend(messages)


def _expected_hash(value: str | None, key: str, errors: Errors) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if len(text) != 64 or not set(text) <= _HEX:
        _add(
            errors,
            key,
            "A SHA-256 hash is 64 characters, digits 0-9 and letters a-f; "
            "copy it again or leave the field empty.",
        )
        return None
    return text


def _image_digest(value: str | None, errors: Errors) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if not is_valid_digest(text):
        _add(
            errors,
            "image_digest",
            "An image digest is “sha256:” followed by 64 characters 0-9 and a-f, "
            "as shown by docker images --digests.",
        )
        return None
    return text


def _download(url: str | None, which: str, expected: str | None, errors: Errors):
    """Fetch a small file; return (bytes, sha256), or None after recording why not."""
    url_key, hash_key = f"{which}_url", f"{which}_sha256"
    problem = link_problem(url)
    if problem:
        _add(errors, url_key, problem)
        return None
    fetch = fetch_config_file if which == "config" else fetch_parameters_file
    try:
        # The hash is compared here rather than in fetch_bytes so that a mismatch is shown
        # next to the hash field, and a download problem next to the link.
        content, actual = fetch(url, settings())
    except FetchError as exc:
        _add(errors, url_key, f"Benchgate could not download this file: {sentence(str(exc))}")
        return None
    if expected is not None and actual != expected:
        _add(
            errors,
            hash_key,
            f"The file at the link does not match this hash: expected {expected}, got {actual}. "
            "Check that the link points to the right version of the file; if you changed the "
            "file on purpose, correct or clear the expected hash.",
        )
        return None
    return content, actual


def _parse_config(content: bytes, max_bytes: int, errors: Errors) -> ContainerConfig | None:
    try:
        return parse_container_config(content, max_bytes=max_bytes)
    except YamlError as exc:
        _add(errors, "config_url", sentence(exc.message))
    except ConfigError as exc:
        count = len(exc.problems)
        summary = (
            "The configuration file has one problem; fix it in the file and submit again:"
            if count == 1
            else f"The configuration file has {count} problems; fix them in the file and "
            "submit again:"
        )
        _add(errors, "config_url", summary, *exc.problems)
    return None


def registry_policy(config: Settings) -> RegistryPolicy:
    """Build the registry policy from ALLOWED_REGISTRIES, as the workers do."""
    return RegistryPolicy.from_setting(config.allowed_registries)


def _check_registry(image: str, errors: Errors) -> None:
    """Refuse an image whose registry the portal does not allow; workers check it again."""
    try:
        registry_policy(settings()).check(image)
    except RegistryRefused as exc:
        _add(errors, "config_url", str(exc))


def _check_parameters(
    links: ContainerLinks,
    parsed: ContainerConfig | None,
    expected: dict[str, str | None],
    errors: Errors,
) -> tuple[dict[str, Any] | None, str | None]:
    """Fetch and read the parameters file; refuse a config that needs one and has none."""
    if links.parameters_url is None:
        if expected["parameters_sha256"] is not None:
            _add(errors, "parameters_sha256", "There is no parameters link to check it against.")
        if parsed is not None and parsed.needs_parameters():
            tasks = ", ".join(
                name for name, task in parsed.tasks.items() if "parameters_file" in task.inputs
            )
            _add(
                errors,
                "parameters_url",
                f"The configuration mounts a parameters file (parameters_file in {tasks}), "
                "so it needs one: give the link to its parameters.yaml.",
            )
        return None, None
    downloaded = _download(
        links.parameters_url, "parameters", expected["parameters_sha256"], errors
    )
    if downloaded is None:
        return None, None
    content, sha256 = downloaded
    try:
        parameters = parse_parameters(content, max_bytes=settings().max_parameters_bytes)
    except YamlError as exc:
        _add(errors, "parameters_url", sentence(exc.message))
        return None, None
    problems = _json_problems(parameters, "")
    if problems:
        _add(
            errors,
            "parameters_url",
            "The parameters file holds values Benchgate cannot store; put them in quotes:",
            *problems,
        )
        return None, None
    return parameters, sha256


def _check_additional_files(
    links: ContainerLinks, expected: dict[str, str | None], errors: Errors
) -> None:
    """Check that the archive's link answers; its hash is computed by the first test."""
    url = links.additional_files_url
    if url is None:
        if expected["additional_files_sha256"] is not None:
            _add(
                errors,
                "additional_files_sha256",
                "There is no additional-files link to check it against.",
            )
        return
    problem = link_problem(url, archive=True)
    if problem:
        _add(errors, "additional_files_url", problem)
        return
    try:
        probe_additional_files(url, settings())
    except FetchError as exc:
        _add(
            errors,
            "additional_files_url",
            f"Benchgate could not reach this link: {sentence(str(exc))}",
        )


def _json_problems(value: Any, path: str) -> list[str]:
    """List the values a JSON column cannot hold faithfully (dates, NaN, non-text keys)."""
    where = path or "the file"
    if isinstance(value, dict):
        problems = []
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(f"{where}: the name {key!r} must be text")
                continue
            problems += _json_problems(item, f"{path}.{key}" if path else key)
        return problems
    if isinstance(value, list):
        problems = []
        for index, item in enumerate(value):
            problems += _json_problems(item, f"{path}[{index}]")
        return problems
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where}: {value} is not a number Benchgate can store"]
    if value is None or isinstance(value, str | int | float | bool):
        return []
    return [f"{where}: {value} is a {type(value).__name__}, which Benchgate cannot store"]
