"""Walking container outputs: only regular files and folders, bounded, never through a link."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

import pytest

from workers.errors import RunCanceled, StepFailed
from workers.fetch import sha256_file
from workers.outputs import (
    OutputLimits,
    check_output,
    check_output_file,
    copy_output,
    hash_output,
    read_output_file,
)
from workers.steps import prepared_data_uid, read_yaml_output

LIMITS = OutputLimits()


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the output, standing for /etc/shadow."""
    path = tmp_path / "outside" / "shadow"
    path.parent.mkdir()
    path.write_bytes(b"root:$6$secret\n")
    return path


def test_hashes_every_regular_file_in_path_order(tmp_path: Path):
    root = _tree(tmp_path / "out", {"b.txt": b"2\n", "a/x.txt": b"1\n", "c.txt": b""})
    expected = [hashlib.sha256(data).hexdigest() for data in (b"1\n", b"2\n", b"")]
    assert hash_output(root, "prepared data", LIMITS) == expected


def test_prepared_identity_follows_medperfs_rule(tmp_path: Path):
    data = _tree(tmp_path / "data", {"case1.txt": b"80\n"})
    labels = _tree(tmp_path / "labels", {"case1.txt": b"positive\n"})
    hashes = sorted(hashlib.sha256(d).hexdigest() for d in (b"80\n", b"positive\n"))
    expected = hashlib.sha256("".join(hashes).encode()).hexdigest()
    folders = {"prepared data": data, "prepared labels": labels}
    assert prepared_data_uid(folders, LIMITS) == expected


def test_symlink_to_a_host_file_fails_naming_its_path(tmp_path: Path, secret: Path):
    root = _tree(tmp_path / "out", {"cases/a.txt.real": b"1\n"})
    (root / "cases" / "a.txt").symlink_to(secret)
    with pytest.raises(StepFailed) as failure:
        hash_output(root, "prepared data", LIMITS)
    assert failure.value.message == (
        "prepared data: cases/a.txt is a symbolic link; "
        "outputs may hold only regular files and folders."
    )
    assert failure.value.cause == "bad_output"


def test_symlink_to_the_root_folder_is_not_descended(tmp_path: Path):
    root = _tree(tmp_path / "out", {"ok.txt": b"1"})
    (root / "everything").symlink_to("/")
    with pytest.raises(StepFailed, match="everything is a symbolic link"):
        check_output(root, "predictions", LIMITS)


def test_output_folder_that_is_itself_a_link_is_refused(tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StepFailed, match=r"predictions: \. is a symbolic link"):
        check_output(tmp_path / "out", "predictions", LIMITS)


def test_hard_link_is_refused(tmp_path: Path, secret: Path):
    root = _tree(tmp_path / "out", {})
    os.link(secret, root / "copy")
    with pytest.raises(StepFailed, match="copy is a hard link to another file"):
        hash_output(root, "prepared labels", LIMITS)


@pytest.mark.timeout(10)
def test_fifo_is_refused_without_blocking(tmp_path: Path):
    root = _tree(tmp_path / "out", {"a.txt": b"1"})
    os.mkfifo(root / "pipe")
    with pytest.raises(StepFailed, match="pipe is a named pipe"):
        hash_output(root, "prepared data", LIMITS)


@pytest.mark.timeout(10)
def test_fifo_as_the_results_file_is_refused_without_blocking(tmp_path: Path):
    os.mkfifo(tmp_path / "results.yaml")
    with pytest.raises(StepFailed, match="results.yaml is a named pipe"):
        read_yaml_output(tmp_path / "results.yaml", "results", "evaluate", "evaluator")


def test_socket_is_refused(tmp_path: Path):
    root = _tree(tmp_path / "s", {})
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(root / "sock"))
        with pytest.raises(StepFailed, match="sock is a socket"):
            check_output(root, "evaluator local outputs", LIMITS)
    finally:
        server.close()


def test_huge_sparse_file_is_refused_before_any_byte_is_read(tmp_path: Path):
    root = _tree(tmp_path / "out", {})
    with open(root / "big.bin", "wb") as handle:
        handle.truncate(1 << 40)
    started = time.monotonic()
    with pytest.raises(StepFailed) as failure:
        hash_output(root, "prepared data", OutputLimits(max_bytes=1 << 30))
    assert time.monotonic() - started < 2
    assert "big.bin takes the output over 1 GiB" in failure.value.message
    assert failure.value.cause == "output_too_large"


def test_sizes_add_up_across_files(tmp_path: Path):
    root = _tree(tmp_path / "out", {f"{i}.bin": b"x" * 400 for i in range(3)})
    assert len(hash_output(root, "p", OutputLimits(max_bytes=1200))) == 3
    with pytest.raises(StepFailed, match="2.bin takes the output over 1000 bytes"):
        hash_output(root, "p", OutputLimits(max_bytes=1000))


def test_too_deep_a_tree_is_refused(tmp_path: Path):
    root = _tree(tmp_path / "out", {"a/b/c/d/e.txt": b"1"})
    assert check_output(root, "p", OutputLimits(max_depth=5)) == 1
    with pytest.raises(StepFailed, match="a/b/c is nested more than 3 folders deep"):
        check_output(root, "p", OutputLimits(max_depth=3))


def test_too_many_entries_are_refused_while_listing(tmp_path: Path):
    root = _tree(tmp_path / "out", {f"{i:02}.txt": b"" for i in range(20)})
    assert check_output(root, "p", OutputLimits(max_entries=20)) == 20
    with pytest.raises(StepFailed, match="more than 10 files and folders"):
        check_output(root, "p", OutputLimits(max_entries=10))


def test_cancel_stops_a_long_hash(tmp_path: Path):
    root = _tree(tmp_path / "out", {"big.bin": b""})
    with open(root / "big.bin", "wb") as handle:
        handle.truncate(256 << 20)
    calls = []

    def cancel_check() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RunCanceled("canceled while hashing")

    with pytest.raises(RunCanceled):
        hash_output(root, "p", OutputLimits(cancel_check=cancel_check))
    assert len(calls) == 3  # the third check came in the middle of the file


def test_read_output_file_refuses_a_link_and_a_large_file(tmp_path: Path, secret: Path):
    (tmp_path / "results.yaml").symlink_to(secret)
    with pytest.raises(StepFailed, match="results.yaml is a symbolic link"):
        read_output_file(tmp_path / "results.yaml", "results", 1 << 20)
    big = tmp_path / "statistics.yaml"
    with open(big, "wb") as handle:
        handle.truncate(1 << 40)
    with pytest.raises(StepFailed, match="statistics.yaml is 1024 GiB, more than the 16 MiB"):
        read_yaml_output(big, "statistics", "statistics", "data_preparator")


def test_read_output_file_reads_a_small_file(tmp_path: Path):
    (tmp_path / "results.yaml").write_bytes(b"accuracy: .nan\n")
    assert read_yaml_output(tmp_path / "results.yaml", "results", "evaluate", "evaluator") == {
        "accuracy": "NaN"
    }


def test_report_file_check_refuses_a_hard_link(tmp_path: Path, secret: Path):
    os.link(secret, tmp_path / "report.yaml")
    with pytest.raises(StepFailed, match="report.yaml is a hard link"):
        check_output_file(tmp_path / "report.yaml", "report file", 1 << 20)


def test_copy_refuses_a_link_and_copies_regular_files(tmp_path: Path, secret: Path):
    source = _tree(tmp_path / "meta", {"a/b.txt": b"b"})
    copy_output(source, tmp_path / "copy", "demo metadata", LIMITS)
    assert (tmp_path / "copy" / "a" / "b.txt").read_bytes() == b"b"
    (source / "link").symlink_to(secret)
    with pytest.raises(StepFailed, match="demo metadata: link is a symbolic link"):
        copy_output(source, tmp_path / "copy2", "demo metadata", LIMITS)


def test_sha256_file_refuses_a_symlink(tmp_path: Path, secret: Path):
    (tmp_path / "entry").symlink_to(secret)
    with pytest.raises(OSError):
        sha256_file(tmp_path / "entry")


def test_results_that_would_weigh_too_much_once_stored_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("workers.steps.MAX_STORED_VALUES_BYTES", 1000)
    path = tmp_path / "results.yaml"
    path.write_text("".join(f"k{i}: é\n" for i in range(200)))  # 1.4 KB of YAML, 3.4 KiB of JSON
    too_much = r"would take [\d.]+ KiB once stored, more than the 1000 bytes"
    with pytest.raises(StepFailed, match=too_much):
        read_yaml_output(path, "results", "evaluate", "evaluator")
    path.write_text("".join(f"k{i}: 1\n" for i in range(50)))
    assert len(read_yaml_output(path, "results", "evaluate", "evaluator")) == 50
