"""Safe unpacking: refused archives leave nothing behind, good ones come out whole."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
from pathlib import Path

import pytest

from workers.archive import ArchiveError, check_members, safe_unpack


def file_member(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def dir_member(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def link_member(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def special_member(name: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.devmajor, info.devminor = 1, 3
    return info, None


def build(path: Path, members: list[tuple], compression: str = "gz") -> Path:
    """Write a tar archive holding the crafted members (headers written as given)."""
    with tarfile.open(path, f"w:{compression}", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Describe everything under folder: kind and size of each entry."""
    result = {}
    for entry in sorted(folder.rglob("*")):
        info = entry.lstat()
        kind = "link" if entry.is_symlink() else "dir" if entry.is_dir() else "file"
        result[str(entry.relative_to(folder))] = (kind, info.st_size if kind == "file" else 0)
    return result


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    """An archives folder and a work folder whose child `demo` is the unpacking target."""
    (tmp_path / "archives").mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "existing.txt").write_text("keep me")
    return {
        "root": tmp_path,
        "archive": tmp_path / "archives" / "demo.tar.gz",
        "target": tmp_path / "work" / "demo",
    }


def assert_refused(place: dict[str, Path], members: list[tuple], message: str, **limits) -> None:
    archive = build(place["archive"], members)
    before = snapshot(place["root"])
    with pytest.raises(ArchiveError, match=message):
        safe_unpack(archive, place["target"], **limits)
    assert not place["target"].exists()
    assert snapshot(place["root"]) == before


GOOD_FILE = file_member("demo_data/ok.txt", b"fine")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (file_member("/tmp/evil.txt", b"x"), "an absolute path: /tmp/evil.txt"),
        (file_member("../escaped.txt", b"x"), r"climbs out with '\.\.': \.\./escaped.txt"),
        (file_member("demo_data/../../escaped.txt", b"x"), r"climbs out with '\.\.'"),
        (link_member("demo_data/up", "../../escaped.txt"), "link that points outside"),
        (link_member("demo_data/abs", "/etc/passwd"), "link to an absolute path"),
        (link_member("demo_data/hard", "../escaped.txt", tarfile.LNKTYPE), "climbs out|outside"),
        (link_member("demo_data/hard", "/etc/passwd", tarfile.LNKTYPE), "absolute path"),
        (special_member("demo_data/null", tarfile.CHRTYPE), "special file"),
        (special_member("demo_data/disk", tarfile.BLKTYPE), "special file"),
        (special_member("demo_data/pipe", tarfile.FIFOTYPE), "special file"),
    ],
    ids=[
        "absolute",
        "dotdot",
        "dotdot-nested",
        "symlink-outside",
        "symlink-absolute",
        "hardlink-outside",
        "hardlink-absolute",
        "char-device",
        "block-device",
        "fifo",
    ],
)
def test_dangerous_member_refuses_the_whole_archive(
    place: dict[str, Path], bad: tuple, message: str
) -> None:
    # The good file comes first: it must not be unpacked either.
    assert_refused(place, [GOOD_FILE, bad], message)


def test_symlink_chain_through_another_link_is_refused(place: dict[str, Path]) -> None:
    # Each link alone looks harmless as text; followed on disk, b/../.. leaves the root.
    members = [dir_member("d"), link_member("d/here", "."), link_member("d/b", "here/../..")]
    assert_refused(place, members, "link that points outside")


def test_file_written_through_a_link_to_outside_is_refused(place: dict[str, Path]) -> None:
    # Text normalisation puts d/up at the root; on disk it is the root's parent.
    members = [
        dir_member("d"),
        link_member("d/here", "."),
        link_member("d/up", "here/../.."),
        file_member("d/up/escaped.txt", b"x"),
    ]
    assert_refused(place, members, "link that points outside")


def test_symlink_loop_is_refused(place: dict[str, Path]) -> None:
    members = [link_member("a", "b"), link_member("b", "a"), file_member("a/x", b"x")]
    assert_refused(place, members, "link that points outside")


def test_hard_link_to_a_file_not_in_the_archive_is_refused(place: dict[str, Path]) -> None:
    members = [link_member("copy", "missing.txt", tarfile.LNKTYPE)]
    assert_refused(place, members, "hard link to a file outside the archive")


def test_too_many_members_are_refused(place: dict[str, Path]) -> None:
    members = [file_member(f"f{index}.txt", b"x") for index in range(6)]
    assert_refused(place, members, "more than 5 files and folders", max_members=5)


def test_too_many_bytes_are_refused(place: dict[str, Path]) -> None:
    members = [file_member("a.bin", b"x" * 600), file_member("b.bin", b"y" * 600)]
    assert_refused(place, members, "more than the 1000 bytes limit", max_bytes=1000)


def test_byte_limit_is_written_in_human_units(place: dict[str, Path]) -> None:
    members = [file_member("a.bin", b"x" * 2048)]
    assert_refused(place, members, "more than the 1 KiB limit", max_bytes=1024)


def test_archive_at_the_limits_is_accepted(place: dict[str, Path]) -> None:
    archive = build(place["archive"], [file_member("a.bin", b"x" * 600), dir_member("d")])
    safe_unpack(archive, place["target"], max_members=2, max_bytes=600)
    assert (place["target"] / "a.bin").stat().st_size == 600


def test_truncated_gzip_is_not_readable(place: dict[str, Path]) -> None:
    full = build(place["archive"], [file_member("big.bin", bytes(range(256)) * 4000)])
    data = full.read_bytes()
    full.write_bytes(data[: len(data) // 2])
    before = snapshot(place["root"])
    with pytest.raises(ArchiveError, match="not a readable tar archive"):
        safe_unpack(full, place["target"])
    assert not place["target"].exists()
    assert snapshot(place["root"]) == before


def test_truncated_plain_tar_is_not_readable(place: dict[str, Path]) -> None:
    members = [file_member("small.txt", b"ok"), file_member("big.bin", bytes(range(256)) * 400)]
    full = build(place["root"] / "archives" / "demo.tar", members, compression="")
    full.write_bytes(full.read_bytes()[: 3 * 512 + 50_000])
    before = snapshot(place["root"])
    with pytest.raises(ArchiveError, match="not a readable tar archive: unexpected end of data"):
        safe_unpack(full, place["target"])
    assert not place["target"].exists()
    assert snapshot(place["root"]) == before


@pytest.mark.parametrize(
    "content",
    [b"this is a text file, not an archive\n", b"", gzip.compress(b"gzip but no tar inside")],
    ids=["text", "empty", "gzip-of-text"],
)
def test_non_archive_is_not_readable(place: dict[str, Path], content: bytes) -> None:
    place["archive"].write_bytes(content)
    before = snapshot(place["root"])
    with pytest.raises(ArchiveError, match="not a readable tar archive"):
        safe_unpack(place["archive"], place["target"])
    assert snapshot(place["root"]) == before


@pytest.mark.parametrize("compression", ["gz", ""])
def test_good_archive_with_nested_folders_is_unpacked(
    place: dict[str, Path], compression: str
) -> None:
    members = [
        file_member("paths.yaml", b"data_path: demo_data/images\nlabels_path: demo_data/labels\n"),
        dir_member("demo_data"),
        dir_member("demo_data/images"),
        file_member("demo_data/images/a/b/c.png", b"\x89PNG" + bytes(100), mode=0o600),
        file_member("demo_data/labels/c.txt", b"label"),
        file_member("demo_data/run.sh", b"#!/bin/sh\n", mode=0o755),
        link_member("demo_data/latest", "images/a"),
        link_member("demo_data/labels/same.txt", "demo_data/labels/c.txt", tarfile.LNKTYPE),
    ]
    # The same content detected by its bytes, whatever the file is called.
    archive = build(place["root"] / "archives" / "demo.bin", members, compression)
    target = place["target"]
    safe_unpack(archive, target)

    assert (target / "paths.yaml").read_text().startswith("data_path: demo_data/images")
    assert (target / "demo_data/images/a/b/c.png").read_bytes() == b"\x89PNG" + bytes(100)
    assert (target / "demo_data/latest").is_symlink()
    assert (target / "demo_data/latest/b/c.png").is_file()
    assert (target / "demo_data/labels/same.txt").read_bytes() == b"label"
    assert (target / "demo_data/run.sh").stat().st_mode & stat.S_IXUSR
    # Readable by a container running as another user, whatever the archive said.
    assert (target / "demo_data/images/a/b/c.png").stat().st_mode & 0o004
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    # Nothing beside the target but what was there: no staging folder left over.
    assert sorted(p.name for p in target.parent.iterdir()) == ["demo", "existing.txt"]


def test_backstop_filter_refusal_removes_what_was_already_unpacked(
    place: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands for a case the member checks missed: tarfile's own filter refuses the 2nd member.
    real_filter = tarfile.data_filter

    def refuse_second(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        if member.name == "second.txt":
            raise tarfile.OutsideDestinationError(member, "/elsewhere")
        return real_filter(member, dest)

    monkeypatch.setattr(tarfile, "data_filter", refuse_second)
    members = [file_member("first.txt", b"1"), file_member("second.txt", b"2")]
    assert_refused(place, members, "member that is not allowed")


def test_existing_target_is_refused(place: dict[str, Path]) -> None:
    archive = build(place["archive"], [GOOD_FILE])
    place["target"].mkdir()
    with pytest.raises(FileExistsError):
        safe_unpack(archive, place["target"])
    assert list(place["target"].iterdir()) == []


def test_member_check_lists_members_in_order() -> None:
    members = [file_member("a", b"1")[0], dir_member("b")[0]]
    checked = check_members(members, max_members=10, max_bytes=10)
    assert [member.name for member in checked] == ["a", "b"]
