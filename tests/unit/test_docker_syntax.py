"""Tests of Docker's syntax: image references, digests, sizes and GPU requests."""

import pytest

from workers.docker_syntax import (
    is_valid_digest,
    is_valid_image_reference,
    normalize_gpus,
    parse_size,
    split_image_reference,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "ref",
    [
        "busybox",
        "mlcommons/chestxray-tutorial-prep:0.0.1",
        "registry.example.org/team/model:v1.2_rc-3",
        "localhost:5000/model",
        "Registry.Example.org/model:latest",
        "a__b/c.d-e:TAG",
        "[2001:db8::1]:5000/x/y:1",
        f"example/prep@{DIGEST}",
        f"example/prep:1.0@{DIGEST}",
    ],
)
def test_valid_image_references_are_accepted(ref):
    assert is_valid_image_reference(ref)


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "example/Prep",
        "example/prep:",
        "example/prep:.hidden",
        "example/prep:" + "t" * 129,
        "example/prep@sha256:" + "A" * 64,
        "example/prep@md5:" + "a" * 32,
        "example/prep@",
        "example/-prep",
        "example/prep_",
        "example//prep",
        "example/prep with space",
        "https://registry.example.org/prep",
        "a___b",
        "x" * 256,
    ],
)
def test_invalid_image_references_are_refused(ref):
    assert not is_valid_image_reference(ref)


def test_digest_must_be_sha256_and_lower_case_hex():
    assert is_valid_digest(DIGEST)
    assert not is_valid_digest(DIGEST.upper())
    assert not is_valid_digest(DIGEST[:-1])
    assert not is_valid_digest("sha512:" + "a" * 64)
    assert not is_valid_digest("0123456789abcdef" * 4)


def test_reference_is_split_into_name_tag_and_digest():
    assert split_image_reference("localhost:5000/a/b") == ("localhost:5000/a/b", None, None)
    assert split_image_reference("localhost:5000/a/b:1.0") == ("localhost:5000/a/b", "1.0", None)
    assert split_image_reference(f"a/b:1@{DIGEST}") == ("a/b", "1", DIGEST)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2048", 2048), (2048, 2048), ("1k", 1024), ("512m", 512 << 20), ("1G", 1 << 30),
     ("1gb", 1 << 30), ("1.5g", 3 << 29), ("64 MB", 64 << 20), ("1.5GiB", 3 << 29),
     ("1t", 1 << 40)],
)  # fmt: skip
def test_sizes_are_parsed_like_docker(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "g", "1x", "1gig", "-5", "1,5g", -1, True, 1.5])
def test_bad_sizes_are_refused(value):
    with pytest.raises(ValueError):
        parse_size(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), (0, None), ("0", None), ([], None), ("all", "all"), (2, 2),
     ("3", 3), ("device=0,1", "device=0,1"), ([0, 1], "device=0,1"),
     (["GPU-3a1f2b"], "device=GPU-3a1f2b")],
)  # fmt: skip
def test_gpu_requests_are_normalised(value, expected):
    assert normalize_gpus(value) == expected


@pytest.mark.parametrize("value", ["some", -2, True, "device=", "device=0,,1", [True], {"n": 1}])
def test_bad_gpu_requests_are_refused(value):
    with pytest.raises(ValueError):
        normalize_gpus(value)
