"""The Docker runner's plain helpers: sizes, GPUs, references, mounts, line splitting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workers.docker_helpers import (
    container_user,
    explain_pull_failure,
    gpu_request,
    parse_size,
    pick_digest,
    prepare_mounts,
    split_reference,
)
from workers.docker_logs import MAX_LINE_CHARS, LineSplitter
from workers.docker_tasks import Mount, RunnerSettings


@pytest.mark.parametrize(
    ("text", "expected"),
    [("64m", 64 * 2**20), ("1g", 2**30), ("1GB", 2**30), ("1.5GiB", 3 * 2**29), ("512", 512)],
)
def test_parse_size_reads_docker_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "1x", "-1m", "1 g b"])
def test_parse_size_refuses_what_docker_would_refuse(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_gpu_requests_follow_medperf_spellings():
    assert gpu_request(None) is None
    assert gpu_request(0) is None
    assert gpu_request("0") is None
    assert gpu_request("all")["count"] == -1
    assert gpu_request(2)["count"] == 2
    assert gpu_request('"device=0,1"')["device_ids"] == ["0", "1"]
    with pytest.raises(ValueError):
        gpu_request("many")


def test_split_reference_keeps_registry_ports_out_of_the_tag():
    assert split_reference("host:5000/team/app") == ("host:5000/team/app", None, None)
    assert split_reference("host:5000/app:1.0") == ("host:5000/app", "1.0", None)
    assert split_reference("app@sha256:ab") == ("app", None, "sha256:ab")


def test_pick_digest_prefers_the_references_repository_then_the_image_id():
    digests = ["other/app@sha256:111", "team/app@sha256:222"]
    assert pick_digest("team/app:1.0", digests, "sha256:id") == "sha256:222"
    assert pick_digest("mirror/app:1.0", digests, "sha256:id") == "sha256:111"
    assert pick_digest("team/app:1.0", [], "sha256:id") == "sha256:id"


def test_pull_failures_are_explained_in_plain_words_never_in_the_servers_own():
    reason = 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup x: no such host'
    assert explain_pull_failure(reason) == "the registry could not be reached from this worker"
    denied = "pull access denied for x, repository does not exist or may require 'docker login'"
    assert "refused access" in explain_pull_failure(denied)
    banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2"
    assert "SSH" not in explain_pull_failure(banner)  # what a server says is never shown


def test_root_runs_containers_as_nobody_others_as_themselves():
    expected = "65534:65534" if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}"
    assert container_user(None) == expected
    assert container_user("1000:1000") == "1000:1000"


def test_settings_refuse_unknown_pull_policies_and_named_users():
    with pytest.raises(ValueError, match="pull policy"):
        RunnerSettings(pull_policy="sometimes")
    with pytest.raises(ValueError, match="numeric"):
        RunnerSettings(user="nobody")


def test_prepare_mounts_creates_outputs_for_the_container_user(tmp_path: Path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    out_dir, out_file = tmp_path / "out", tmp_path / "res" / "results.yaml"
    (tmp_path / "old").mkdir()
    leftover = tmp_path / "old" / "stale.txt"
    leftover.write_text("x")
    mounts = [
        Mount(inputs, "/in", read_only=True),
        Mount(out_dir, "/out", read_only=False),
        Mount(out_file, "/res/results.yaml", read_only=False, is_file=True),
        Mount(tmp_path / "old", "/old", read_only=False),
    ]
    prepare_mounts(mounts, "4321:4322")
    assert out_dir.is_dir()
    assert out_file.is_file() and out_file.read_text() == ""
    if os.geteuid() == 0:
        assert (out_dir.stat().st_uid, out_dir.stat().st_gid) == (4321, 4322)
        assert out_file.stat().st_uid == 4321
        assert leftover.stat().st_uid == 4321  # contents too, not just the folder
        assert inputs.stat().st_uid == 0  # inputs are left alone


def test_prepare_mounts_refuses_a_missing_input(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="/data"):
        prepare_mounts([Mount(tmp_path / "absent", "/data", read_only=True)], "1:1")


def test_line_splitter_handles_every_line_ending_across_chunks():
    splitter = LineSplitter()
    lines = splitter.feed(b"one\ntwo\r")
    lines += splitter.feed(b"\nthree\rfour")
    lines += splitter.feed(b"\n")
    lines += splitter.flush()
    assert lines == ["one", "two", "three", "four"]


def test_line_splitter_decodes_utf8_split_between_chunks_and_replaces_bad_bytes():
    splitter = LineSplitter()
    data = "é€\n".encode()
    lines = [line for byte in data for line in splitter.feed(bytes([byte]))]
    lines += splitter.feed(b"bad \xff\n")
    assert lines == ["é€", "bad \ufffd"]


def test_line_splitter_cuts_an_endless_line_and_counts_what_it_left_out():
    splitter = LineSplitter()
    assert splitter.feed(b"x" * (MAX_LINE_CHARS * 2 + 5)) == []
    lines = splitter.feed(b"y" * 1000 + b"\nnext\n")
    assert lines == ["x" * MAX_LINE_CHARS, "next"]
    assert lines[0].dropped == MAX_LINE_CHARS + 5 + 1000


def test_line_splitter_reports_the_cut_length_on_the_cut_line():
    splitter = LineSplitter(max_chars=10)
    lines = splitter.feed(b"a" * 7) + splitter.feed(b"b" * 7 + b"\nshort\n" + b"c" * 12)
    lines += splitter.flush()
    assert lines == ["a" * 7 + "bbb", "short", "c" * 10]
    assert [getattr(line, "dropped", 0) for line in lines] == [4, 0, 2]
