"""Tests of paths.yaml in an unpacked demo dataset: required keys, containment, existence."""

import pytest

from workers.demo_paths import DemoPaths, DemoPathsError, read_demo_paths


@pytest.fixture
def archive(tmp_path):
    """An unpacked demo archive with data, labels and metadata folders but no paths.yaml."""
    root = tmp_path / "demo"
    for folder in ("demo_data/images", "demo_data/labels", "demo_data/meta"):
        (root / folder).mkdir(parents=True)
    return root


def write_paths(root, text: str) -> None:
    (root / "paths.yaml").write_text(text)


def problem(root) -> str:
    """Return the single problem read_demo_paths refuses ``root`` with."""
    with pytest.raises(DemoPathsError) as caught:
        read_demo_paths(root)
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def test_valid_paths_are_resolved_inside_the_archive(archive):
    write_paths(
        archive,
        "data_path: demo_data/images\nlabels_path: demo_data/labels\n"
        "metadata_path: demo_data/meta\n",
    )
    paths = read_demo_paths(archive)
    root = archive.resolve()
    assert paths == DemoPaths(
        root / "demo_data/images", root / "demo_data/labels", root / "demo_data/meta"
    )


def test_metadata_path_is_optional(archive):
    write_paths(archive, "data_path: demo_data/images\nlabels_path: demo_data/labels\n")
    paths = read_demo_paths(archive)
    assert paths.metadata_path is None
    assert paths.labels_path == archive.resolve() / "demo_data/labels"


def test_unknown_keys_are_ignored_like_medperf_does(archive):
    write_paths(
        archive, "data_path: demo_data/images\nlabels_path: demo_data/labels\nnote: hello\n"
    )
    assert read_demo_paths(archive).data_path.name == "images"


def test_missing_paths_yaml_is_refused(archive):
    assert problem(archive).startswith("paths.yaml is missing from the archive root")


def test_paths_yaml_that_is_not_a_mapping_is_refused(archive):
    write_paths(archive, "- demo_data/images\n- demo_data/labels\n")
    assert problem(archive).startswith(
        "paths.yaml must be a mapping of names to values, not a list (line 1, column 1)"
    )


def test_paths_yaml_that_is_not_yaml_is_refused_with_position(archive):
    write_paths(archive, "data_path: [demo_data\n")
    assert "line 2" in problem(archive)


def test_empty_paths_yaml_is_refused(archive):
    write_paths(archive, "")
    assert problem(archive) == "paths.yaml is empty"


def test_missing_key_is_refused(archive):
    write_paths(archive, "data_path: demo_data/images\n")
    assert problem(archive).startswith("paths.yaml: labels_path is missing")


def test_both_missing_keys_are_reported(archive):
    write_paths(archive, "metadata_path: demo_data/meta\n")
    with pytest.raises(DemoPathsError) as caught:
        read_demo_paths(archive)
    assert [p.split(" is missing")[0] for p in caught.value.problems] == [
        "paths.yaml: data_path",
        "paths.yaml: labels_path",
    ]


def test_absolute_path_is_refused(archive):
    write_paths(
        archive, f"data_path: {archive / 'demo_data/images'}\nlabels_path: demo_data/labels\n"
    )
    assert "is an absolute path" in problem(archive)


def test_dot_dot_escape_is_refused_even_when_it_comes_back_inside(archive):
    write_paths(
        archive, "data_path: demo_data/../demo_data/images\nlabels_path: demo_data/labels\n"
    )
    assert problem(archive) == (
        "paths.yaml: data_path 'demo_data/../demo_data/images' must not contain '..'; "
        "it must stay inside the archive"
    )


def test_dot_dot_escape_outside_is_refused(archive):
    (archive.parent / "outside").mkdir()
    write_paths(archive, "data_path: ../outside\nlabels_path: demo_data/labels\n")
    assert "must not contain '..'" in problem(archive)


def test_symlink_escaping_the_archive_is_refused(archive):
    outside = archive.parent / "secrets"
    outside.mkdir()
    (archive / "demo_data/escape").symlink_to(outside)
    write_paths(archive, "data_path: demo_data/images\nlabels_path: demo_data/escape\n")
    assert problem(archive) == (
        "paths.yaml: labels_path 'demo_data/escape' leads outside the archive through a "
        "symbolic link"
    )


def test_symlink_inside_the_archive_is_followed(archive):
    (archive / "images_link").symlink_to(archive / "demo_data/images")
    write_paths(archive, "data_path: images_link\nlabels_path: demo_data/labels\n")
    assert read_demo_paths(archive).data_path == archive.resolve() / "demo_data/images"


def test_paths_yaml_linking_outside_is_refused(archive):
    outside = archive.parent / "paths.yaml"
    outside.write_text("data_path: demo_data/images\nlabels_path: demo_data/labels\n")
    (archive / "paths.yaml").symlink_to(outside)
    assert problem(archive) == "paths.yaml is a link to a file outside the archive"


def test_absent_folder_is_refused(archive):
    write_paths(archive, "data_path: demo_data/images\nlabels_path: demo/lbl\n")
    assert problem(archive) == "paths.yaml: labels_path 'demo/lbl' does not exist in the archive"


def test_file_instead_of_folder_is_refused(archive):
    (archive / "demo_data/labels.csv").write_text("id,label\n")
    write_paths(archive, "data_path: demo_data/images\nlabels_path: demo_data/labels.csv\n")
    assert "is a file; it must be a folder" in problem(archive)


def test_path_that_is_not_text_is_refused(archive):
    write_paths(archive, "data_path: [demo_data]\nlabels_path: demo_data/labels\n")
    assert problem(archive).startswith("paths.yaml: data_path must be a folder path")


def test_oversized_paths_yaml_is_refused(archive):
    write_paths(archive, "data_path: demo_data/images\n" + "#" * 2000 + "\n")
    with pytest.raises(DemoPathsError, match="larger than the 1 KiB limit"):
        read_demo_paths(archive, max_bytes=1024)


def test_symlink_loop_is_refused_not_crashing(archive):
    (archive / "loop_a").symlink_to(archive / "loop_b")
    (archive / "loop_b").symlink_to(archive / "loop_a")
    write_paths(archive, "data_path: loop_a\nlabels_path: demo_data/labels\n")
    assert problem(archive).startswith("paths.yaml: data_path 'loop_a' ")


def test_windows_drive_path_is_refused(archive):
    write_paths(archive, "data_path: 'C:/demo/images'\nlabels_path: demo_data/labels\n")
    assert "is an absolute path" in problem(archive)
