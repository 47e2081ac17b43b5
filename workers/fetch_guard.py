"""Where downloads may connect: addresses checked after name resolution.

The connections pinned to the checked address are in workers.fetch_pinned, apart: checking a
setting (the allowed registries) needs no HTTP library.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

# IPv6 ranges that carry an IPv4 address in their last 32 bits; the embedded address decides.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """A download failed for a reason the person who gave the link can act on."""


class HashMismatch(FetchError):
    """The file arrived whole but is not the one its expected hash names."""


class AddressRefused(FetchError):
    """The link's server is at a loopback, private, link-local or otherwise refused address."""


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve host with the operating system's resolver into IP address strings."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"the server name {host} could not be found") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """Which private hosts are allowed, and the timeouts and redirect limit of every download."""

    allowed_hosts: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_redirects: int = 5
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)
    ca_bundle: str | None = None
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names, networks = _parse_allowed_hosts(self.allowed_hosts)
        # A frozen dataclass still needs its derived fields filled in once.
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_networks", networks)

    @classmethod
    def from_setting(cls, value: str, **kw: Any) -> FetchPolicy:
        """Build a policy from a comma-separated setting such as "a.example, 10.0.0.0/8"."""
        entries = tuple(part.strip() for part in value.split(",") if part.strip())
        return cls(allowed_hosts=entries, **kw)

    def exempts(self, host: str, address: IPAddress) -> bool:
        """Tell whether host, connecting to address, is on the operator's allow list."""
        if _normalise_name(host) in self._names:
            return True
        candidates = [address]
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
        return any(
            ip.version == net.version and ip in net for ip in candidates for net in self._networks
        )


def _normalise_name(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _parse_allowed_hosts(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip().strip("[]")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            if "/" in text:
                raise ValueError(f"not a valid network in the allowed hosts: {entry!r}") from None
            names.add(_normalise_name(text))
    return frozenset(names), tuple(networks)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    # "::" and "::1" live in ::/96 too but are IPv6's own unspecified and loopback addresses.
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Tell whether address is a public unicast address (not private, local or reserved)."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public_address(embedded)
    special = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )
    return address.is_global and not special


def checked_addresses(host: str, port: int, policy: FetchPolicy) -> list[IPAddress]:
    """Resolve host once and return its addresses, refusing the host if any is not allowed."""
    name = host.strip("[]")
    try:
        resolved = [name] if _is_ip_literal(name) else policy.resolver(name, port)
    except OSError as exc:
        raise FetchError(f"the server name {_normalise_name(name)} could not be found") from exc
    if not resolved:
        raise FetchError(f"the server name {_normalise_name(name)} could not be found")
    addresses = [ipaddress.ip_address(item) for item in resolved]
    for address in addresses:
        if not is_public_address(address) and not policy.exempts(name, address):
            raise AddressRefused(_refusal_message(_normalise_name(name), address))
    return addresses


def _is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _refusal_message(host: str, address: IPAddress) -> str:
    where = host if host == str(address) else f"{host} ({address})"
    return (
        f"this address is not allowed: {where} is a private, local or reserved network "
        "address; links must point to a public server"
    )
