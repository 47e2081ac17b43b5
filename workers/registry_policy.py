"""Which registries images may come from: checked before registration, every pull and every run."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from workers.docker_syntax import image_reference_problem, split_image_reference
from workers.fetch_guard import (
    AddressRefused,
    FetchError,
    FetchPolicy,
    Resolver,
    checked_addresses,
    system_resolver,
)

DOCKER_HUB = "docker.io"
LOCAL = "local"  # entry: images on the worker's engine may run whatever made them
ANY_PUBLIC = "*"  # entry: any registry whose host resolves only to public addresses
DEFAULT_REGISTRIES = DOCKER_HUB

# Every name Docker Hub answers to; `docker pull` treats the first two as the same registry.
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HTTPS_PORT = 443
# What inet_aton (and so the engine's resolver) reads as an IPv4 address: 127.1, 0x7f.0.0.1,
# 0177.0.0.1, 2130706433.
_IPV4_LIKE = re.compile(r"^[0-9a-fA-FxX.]+$")


class RegistryRefused(Exception):
    """An image may not be used here; the message is a plain sentence for the member."""


@dataclass(frozen=True)
class ImageSource:
    """Where a reference points: its registry (host, port) and repository path.

    Docker Hub is ("docker.io", None) whatever alias was written, and its official images
    carry their implicit "library/" prefix.
    """

    host: str
    port: int | None
    repository: str

    @property
    def is_hub(self) -> bool:
        return self.host == DOCKER_HUB and self.port is None

    @property
    def registry(self) -> str:
        """The registry as a person would write it (host[:port])."""
        return self.host if self.port is None else f"{self.host}:{self.port}"


def canonical_host(host: str) -> str:
    """Write a registry host one way: lower case, no trailing dot, addresses in standard form.

    IPv4 in any inet_aton spelling becomes dotted decimal; IPv6 goes in brackets, compressed,
    and an IPv4-mapped IPv6 address becomes the IPv4 address it maps.

    Raises:
        ValueError: brackets around something that is not an IPv6 address.
    """
    text = host.strip().rstrip(".").lower()
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"not a host: {host!r}")
        v6 = ipaddress.IPv6Address(text[1:-1])
        return str(v6.ipv4_mapped) if v6.ipv4_mapped else f"[{v6.compressed}]"
    if ":" in text:  # a bare IPv6 address, as an operator may write one in the setting
        return canonical_host(f"[{text}]")
    if _IPV4_LIKE.match(text):
        try:
            return socket.inet_ntoa(socket.inet_aton(text))
        except OSError:
            pass
    return text


def _split_host_port(text: str) -> tuple[str, int | None]:
    """Split "host[:port]" (IPv6 in brackets) into a canonical host and a port."""
    text = text.strip()
    host, port = text, None
    if text.startswith("["):
        end = text.find("]")
        rest = text[end + 1 :] if end >= 0 else ""
        host = text[: end + 1] if end >= 0 else text
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"not a registry: {text!r}")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"not a port number in {text!r}")
    host = canonical_host(host)
    if not host or host == "[]":
        raise ValueError(f"not a registry: {text!r}")
    return host, int(port) if port is not None else None


def image_source(ref: str) -> ImageSource:
    """Find the registry and repository of an image reference, as the engine reads it.

    Raises:
        ValueError: the reference is not valid in Docker's grammar.
    """
    problem = image_reference_problem(ref)
    if problem:
        raise ValueError(problem)
    name = split_image_reference(ref)[0]
    first, slash, rest = name.partition("/")
    # Docker's own rule: the first component names a registry when it has a dot or a colon,
    # is "localhost", or is not all lower case (newer engines); otherwise it is Docker Hub's.
    if not slash or (not any(c in first for c in ".:") and first == first.lower() != "localhost"):
        first, rest = DOCKER_HUB, name
    host, port = _split_host_port(first)
    if host in _HUB_NAMES and port in (None, _HTTPS_PORT):
        host, port = DOCKER_HUB, None
        if "/" not in rest:
            rest = f"library/{rest}"
    return ImageSource(host=host, port=port, repository=rest)


@dataclass(frozen=True)
class RegistryPolicy:
    """The operator's ALLOWED_REGISTRIES: registries by name, `*`, `local`, Docker Hub."""

    entries: tuple[str, ...] = (DEFAULT_REGISTRIES,)
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)
    _listed: frozenset[tuple[str, int | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        listed: set[tuple[str, int | None]] = set()
        for entry in self.entries:
            text = entry.strip()
            if text.lower() in (LOCAL, ANY_PUBLIC):
                continue
            if "/" in text or "@" in text:
                raise ValueError(
                    f"ALLOWED_REGISTRIES lists registries (host or host:port), not {entry!r}"
                )
            host, port = _split_host_port(text)
            if host in _HUB_NAMES and port in (None, _HTTPS_PORT):
                host, port = DOCKER_HUB, None
            listed.add((host, port))
        object.__setattr__(self, "_listed", frozenset(listed))

    @classmethod
    def from_setting(cls, value: str | None, **kw: object) -> RegistryPolicy:
        """Build a policy from a comma-separated setting such as "docker.io, local"."""
        entries = tuple(part.strip() for part in (value or "").split(",") if part.strip())
        return cls(entries=entries, **kw)  # type: ignore[arg-type]

    @property
    def allows_local(self) -> bool:
        """Whether images already on the engine run even when no registry made them."""
        return any(entry.strip().lower() == LOCAL for entry in self.entries)

    @property
    def allows_public(self) -> bool:
        return any(entry.strip() == ANY_PUBLIC for entry in self.entries)

    def check(self, ref: str) -> ImageSource:
        """Return where ref comes from, or refuse it in a sentence the member can act on.

        Raises:
            RegistryRefused: not a valid reference, or its registry is not allowed.
        """
        try:
            source = image_source(ref)
        except ValueError as exc:
            raise RegistryRefused(f"The image reference {ref!r} is not valid: it {exc}.") from None
        if self._is_listed(source) or (source.is_hub and self.allows_public):
            return source
        if not self.allows_public:
            raise RegistryRefused(
                f"The image {ref} comes from the registry {source.registry}, which this "
                f"portal does not allow: {self.describe()}"
            )
        try:
            checked_addresses(
                source.host, source.port or _HTTPS_PORT, FetchPolicy(resolver=self.resolver)
            )
        except AddressRefused:
            raise RegistryRefused(
                f"The image {ref} comes from the registry {source.registry}, which is at a "
                f"private, local or reserved network address: {self.describe()}"
            ) from None
        except FetchError:
            raise RegistryRefused(
                f"The image {ref} comes from the registry {source.registry}, whose name "
                "could not be found."
            ) from None
        return source

    def came_from_registry(self, ref: str, repo_digests: Iterable[str]) -> bool:
        """Tell whether an image on the engine was pulled from ref's own repository.

        A pulled image records "<repository>@sha256:..." for each repository it came from;
        one built, loaded or tagged on the worker records none for ref's repository.
        """
        try:
            wanted = image_source(ref)
        except ValueError:
            return False
        for entry in repo_digests:
            try:
                pulled = image_source(entry.split("@", 1)[0])
            except ValueError:
                continue
            if (pulled.host, pulled.port, pulled.repository) == (
                wanted.host,
                wanted.port,
                wanted.repository,
            ):
                return True
        return False

    def describe(self) -> str:
        """Say in a sentence where images may come from."""
        hub = (DOCKER_HUB, None)
        named = ["Docker Hub"] if hub in self._listed else []
        named += sorted(_registry(host, port) for host, port in self._listed if (host, port) != hub)
        if self.allows_public:
            named.append("any registry at a public address")
        if not named:
            return "this portal pulls no images; an administrator must allow a registry."
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]
        return f"images must come from {listed}."

    def _is_listed(self, source: ImageSource) -> bool:
        if (source.host, source.port) in self._listed:
            return True
        # A registry listed without a port is allowed on its default (HTTPS) port only.
        return source.port == _HTTPS_PORT and (source.host, None) in self._listed


def _registry(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"
