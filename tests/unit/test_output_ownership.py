"""Handing output folders to the container's user and removing them: never through a link."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from workers.docker_helpers import prepare_mounts
from workers.docker_tasks import Mount
from workers.outputs import remove_tree

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root gives files away")


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    path = tmp_path / "host" / "passwd"
    path.parent.mkdir()
    path.write_text("root:x:0:0\n")
    return path


@as_root
def test_chown_of_an_output_leaves_linked_host_files_alone(tmp_path: Path, host_file: Path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "mine.txt").write_text("x")
    (out / "sub" / "link").symlink_to(host_file)
    (out / "hostdir").symlink_to(host_file.parent)
    os.link(host_file, out / "hard")
    prepare_mounts([Mount(out, "/out", read_only=False)], f"{NOBODY}:{NOBODY}")
    assert (out / "sub" / "mine.txt").stat().st_uid == NOBODY
    assert (out / "sub").stat().st_uid == NOBODY
    assert host_file.stat().st_uid == 0  # neither through the link nor the hard link
    assert host_file.parent.stat().st_uid == 0
    assert os.lstat(out / "sub" / "link").st_uid == 0


def test_output_mount_that_is_a_symlink_is_refused(tmp_path: Path, host_file: Path):
    (tmp_path / "out").symlink_to(host_file.parent)
    with pytest.raises(FileExistsError, match="is a symbolic link"):
        prepare_mounts([Mount(tmp_path / "out", "/out", read_only=False)], "1:1")
    assert host_file.parent.stat().st_uid == os.geteuid()


def test_remove_tree_removes_links_not_their_targets(tmp_path: Path, host_file: Path):
    run = tmp_path / "run-1"
    (run / "out").mkdir(parents=True)
    (run / "out" / "link").symlink_to(host_file)
    (run / "out" / "dir").symlink_to(host_file.parent)
    os.mkfifo(run / "out" / "pipe")
    assert remove_tree(run)
    assert not run.exists()
    assert host_file.read_text() == "root:x:0:0\n"


@as_root
def test_remove_tree_gets_through_folders_their_owner_locked(tmp_path: Path):
    """A container running as the worker's user may chmod 000 its folders; they still go."""
    base = Path("/tmp") / f"benchgate-locked-{os.getpid()}"
    base.mkdir(mode=0o777)
    os.chmod(base, 0o777)
    pid = os.fork()
    if pid == 0:  # the child plays a worker that is not root
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            locked = base / "run" / "out" / "locked"
            (locked / "deeper").mkdir(parents=True)
            (locked / "deeper" / "file").write_text("x")
            os.chmod(locked / "deeper", 0)
            os.chmod(locked, 0)
            code = 0 if remove_tree(base / "run") else 2
        finally:
            os._exit(code)
    try:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert not (base / "run").exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)
