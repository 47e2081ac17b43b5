"""The registry policy: where an image reference points, and which registries are allowed."""

from __future__ import annotations

import pytest

from workers.registry_policy import (
    RegistryPolicy,
    RegistryRefused,
    canonical_host,
    image_source,
)

DEFAULT = RegistryPolicy()


def resolver_to(*addresses: str):
    """A resolver answering every name with these addresses (no DNS in tests)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return list(addresses)

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    "ref, repository",
    [
        ("busybox", "library/busybox"),
        ("busybox:1.36", "library/busybox"),
        ("example/prep:1.0", "example/prep"),
        ("docker.io/example/prep:1.0", "example/prep"),
        ("docker.io/busybox", "library/busybox"),
        ("index.docker.io/example/prep:1.0", "example/prep"),
        ("registry-1.docker.io/example/prep", "example/prep"),
        ("Docker.IO/example/prep", "example/prep"),
        ("docker.io:443/example/prep", "example/prep"),
        (f"example/prep@sha256:{'a' * 64}", "example/prep"),
    ],
)
def test_every_name_of_docker_hub_is_docker_hub_and_allowed_by_default(ref, repository):
    source = DEFAULT.check(ref)
    assert source.is_hub
    assert source.repository == repository


@pytest.mark.parametrize(
    "ref, registry",
    [
        ("127.0.0.1:5000/x:1", "127.0.0.1:5000"),
        ("127.0.0.1/x:1", "127.0.0.1"),
        ("localhost/x:1", "localhost"),
        ("localhost:5000/x", "localhost:5000"),
        ("LOCALHOST/x:1", "localhost"),
        ("Localhost:5000/x", "localhost:5000"),
        ("2130706433:5000/x:1", "127.0.0.1:5000"),  # decimal
        ("0x7f000001:5000/x:1", "127.0.0.1:5000"),  # hexadecimal
        ("0177.0.0.1:5000/x:1", "127.0.0.1:5000"),  # octal
        ("0x7f.0.0.1:5000/x:1", "127.0.0.1:5000"),
        ("127.1:5000/x:1", "127.0.0.1:5000"),
        ("[::1]:5000/x:1", "[::1]:5000"),
        ("[0:0:0:0:0:0:0:1]:5000/x", "[::1]:5000"),
        ("[::ffff:7f00:1]:5000/x:1", "127.0.0.1:5000"),  # IPv4-mapped IPv6
        ("[fe80::1]/x", "[fe80::1]"),
        ("169.254.169.254/latest:1", "169.254.169.254"),
        ("10.0.0.5:5000/x", "10.0.0.5:5000"),
        ("registry.internal/x:1", "registry.internal"),
        ("REGISTRY.Internal:5000/x:1", "registry.internal:5000"),
        ("docker.io:5000/x", "docker.io:5000"),  # another port is another registry
        ("ghcr.io/example/prep:1", "ghcr.io"),
    ],
)
def test_other_registries_are_refused_by_default_whatever_their_spelling(ref, registry):
    assert image_source(ref).registry == registry
    with pytest.raises(RegistryRefused) as caught:
        DEFAULT.check(ref)
    message = str(caught.value)
    assert registry in message
    assert "images must come from Docker Hub." in message


@pytest.mark.parametrize(
    "spelling",
    [
        "127.0.0.1",
        "2130706433",
        "0x7F000001",
        "0177.0.0.01",
        "127.1",
        "127.0.0.1.",
        "[::ffff:7f00:1]",
    ],
)
def test_every_spelling_of_an_address_is_written_one_way(spelling):
    assert canonical_host(spelling) == "127.0.0.1"


def test_a_listed_registry_is_allowed_in_any_spelling_on_its_port_only():
    policy = RegistryPolicy.from_setting("docker.io, 127.0.0.1:5000, Registry.Internal.")
    for ref in ("127.0.0.1:5000/x:1", "2130706433:5000/x", "[::ffff:7f00:1]:5000/x"):
        assert policy.check(ref).registry == "127.0.0.1:5000"
    assert policy.check("registry.internal/x").registry == "registry.internal"
    assert policy.check("REGISTRY.internal:443/x").registry == "registry.internal:443"
    for ref in ("127.0.0.1:5001/x", "127.0.0.1/x", "registry.internal:5000/x", "localhost:5000/x"):
        with pytest.raises(RegistryRefused):
            policy.check(ref)
    assert "Docker Hub, 127.0.0.1:5000 or registry.internal" in policy.describe()


def test_listed_ipv6_registry_matches_its_bracketed_spellings():
    policy = RegistryPolicy.from_setting("[::1]:5000, fd00::7")
    assert policy.check("[0::1]:5000/x").registry == "[::1]:5000"
    assert policy.check("[FD00:0::7]/x").registry == "[fd00::7]"
    with pytest.raises(RegistryRefused):
        policy.check("busybox")  # Docker Hub is not listed


def test_any_public_registry_is_allowed_only_when_all_its_addresses_are_public():
    public = resolver_to("93.184.216.34")
    policy = RegistryPolicy(entries=("*",), resolver=public)
    assert policy.check("registry.example.org/x:1").registry == "registry.example.org"
    assert policy.check("busybox").is_hub
    mixed = RegistryPolicy(entries=("*",), resolver=resolver_to("93.184.216.34", "10.1.2.3"))
    with pytest.raises(RegistryRefused, match="private, local or reserved"):
        mixed.check("registry.example.org/x:1")


@pytest.mark.parametrize(
    "ref",
    [
        "127.0.0.1:5000/x:1",
        "2130706433:5000/x:1",
        "0x7f.1:5000/x",
        "[::1]:5000/x",
        "[::ffff:a00:1]/x",
        "[fe80::1]/x",
        "169.254.169.254/x",
        "192.168.1.1:5000/x",
        "[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
    ],
)
def test_any_public_registry_still_refuses_private_addresses_written_as_literals(ref):
    never = resolver_to()  # literals are never resolved; a name would fail here
    with pytest.raises(RegistryRefused, match="private, local or reserved"):
        RegistryPolicy(entries=("*",), resolver=never).check(ref)
    assert never.asked == [] or never.asked == [image_source(ref).host]


def test_any_public_registry_refuses_a_name_that_resolves_to_loopback():
    loopback = resolver_to("127.0.0.1")
    policy = RegistryPolicy(entries=("*",), resolver=loopback)
    with pytest.raises(RegistryRefused, match="private, local or reserved"):
        policy.check("localhost/x:1")
    with pytest.raises(RegistryRefused, match="private, local or reserved"):
        policy.check("innocent.example.org/x:1")
    assert loopback.asked == ["localhost", "innocent.example.org"]


def test_an_invalid_reference_is_refused_with_the_reason():
    with pytest.raises(RegistryRefused, match="not valid"):
        DEFAULT.check("http://127.0.0.1:5000/x")
    with pytest.raises(RegistryRefused, match="not valid"):
        DEFAULT.check("Example/Prep")


@pytest.mark.parametrize("entry", ["https://registry.example.org", "example/prep", "host:99999"])
def test_a_setting_that_lists_something_else_than_registries_is_rejected(entry):
    with pytest.raises(ValueError):
        RegistryPolicy.from_setting(f"docker.io, {entry}")


def test_nothing_allowed_says_so():
    policy = RegistryPolicy.from_setting("")
    with pytest.raises(RegistryRefused, match="pulls no images"):
        policy.check("busybox")
    assert RegistryPolicy.from_setting("local").allows_local
    assert not DEFAULT.allows_local


@pytest.mark.parametrize(
    "ref, digests, pulled",
    [
        ("busybox:1.36", ["busybox@sha256:" + "1" * 64], True),
        ("busybox:1.36", ["docker.io/library/busybox@sha256:" + "1" * 64], True),
        ("docker.io/library/busybox", ["busybox@sha256:" + "1" * 64], True),
        ("team/app:2", ["team/app@sha256:" + "1" * 64], True),
        ("team/app:2", ["other/app@sha256:" + "1" * 64], False),  # tagged over another's
        ("team/app:2", [], False),  # built or loaded here
        ("127.0.0.1:5000/team/app", ["team/app@sha256:" + "1" * 64], False),
        ("team/app", ["127.0.0.1:5000/team/app@sha256:" + "1" * 64], False),
        ("reg.example.org/app", ["REG.example.org/app@sha256:" + "1" * 64], True),
    ],
)
def test_a_local_image_came_from_its_registry_only_if_its_repo_digests_name_it(
    ref, digests, pulled
):
    assert DEFAULT.came_from_registry(ref, digests) is pulled


def test_the_app_refuses_to_start_with_a_mistyped_registry_list(tmp_path):
    from app import create_app

    settings = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "ALLOWED_REGISTRIES": "docker.io, https://registry.example.org",
    }
    with pytest.raises(ValueError, match="not 'https://registry.example.org'"):
        create_app(settings)
