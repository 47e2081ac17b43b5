"""Tests of the container configuration rules of SPEC §2.1, each problem with its field path."""

import copy

import pytest
import yaml

from tests.support.container_configs import CONFIGS, fixture, model, mount, problems_of, with_volume
from workers.container_config import (
    FILE_OUTPUTS,
    TASK_VOLUMES,
    ConfigError,
    Role,
    YamlError,
    parse_container_config,
    parse_parameters,
)

# --- the examples pass ----------------------------------------------------------------------


def test_data_preparator_example_passes_with_its_role():
    config = parse_container_config((CONFIGS / "prep.yaml").read_bytes())
    assert config.role is Role.DATA_PREPARATOR
    assert config.image == "mlcommons/chestxray-tutorial-prep:0.0.1"
    assert list(config.tasks) == ["prepare", "sanity_check", "statistics"]
    prepare = config.tasks["prepare"]
    assert prepare.inputs["data_path"].mount_path == "/mlcube_io0"
    assert prepare.outputs["output_labels_path"].type == "directory"
    assert config.tasks["statistics"].outputs["output_path"].type == "file"
    assert config.raw == fixture("prep.yaml")


def test_model_example_passes_with_its_role():
    config = parse_container_config((CONFIGS / "model.yaml").read_text())
    assert config.role is Role.MODEL
    infer = config.tasks["infer"]
    assert set(infer.inputs) == {"data_path", "parameters_file", "additional_files"}
    assert infer.environment == {"OMP_NUM_THREADS": "2"}
    assert infer.shm_size == "1g"
    assert infer.gpus is None


def test_evaluator_example_passes_with_its_role():
    config = parse_container_config((CONFIGS / "evaluator.yaml").read_bytes())
    assert config.role is Role.EVALUATOR
    assert config.tasks["evaluate"].outputs["output_path"].mount_path == "/mlcube_io3/results.yaml"


def test_needs_parameters_follows_parameters_file():
    assert parse_container_config(yaml.safe_dump(fixture("model.yaml"))).needs_parameters()
    data = fixture("model.yaml")
    del data["tasks"]["infer"]["input_volumes"]["parameters_file"]
    assert not parse_container_config(yaml.safe_dump(data)).needs_parameters()


def test_mount_paths_are_stored_normalised():
    data = with_volume("input_volumes", "data_path", mount("/data//in/./x/../"))
    task = parse_container_config(yaml.safe_dump(data)).tasks["infer"]
    assert task.inputs["data_path"].mount_path == "/data/in"


def test_nested_mount_paths_are_allowed():
    data = with_volume("input_volumes", "additional_files", mount("/mlcube_io0/extra"))
    assert parse_container_config(yaml.safe_dump(data)).role is Role.MODEL


def test_image_with_registry_port_and_digest_passes():
    data = fixture("evaluator.yaml")
    data["image"] = "registry.example.org:5000/team/metrics@sha256:" + "ab" * 32
    assert parse_container_config(yaml.safe_dump(data)).image == data["image"]


def test_tables_cover_every_task():
    assert set(TASK_VOLUMES) == set(FILE_OUTPUTS) == {
        "prepare", "sanity_check", "statistics", "infer", "evaluate"
    }  # fmt: skip
    assert FILE_OUTPUTS["statistics"] == {"output_path"}
    assert FILE_OUTPUTS["evaluate"] == {"output_path"}
    assert FILE_OUTPUTS["prepare"] == {"report_file"}
    assert "parameters_file" in TASK_VOLUMES["sanity_check"][0]


def test_not_yaml_is_a_yaml_error():
    with pytest.raises(YamlError, match="line 2"):
        parse_container_config(b"image: x\n  tasks: : [\n")


# --- one test per rule ----------------------------------------------------------------------


def test_container_type_other_than_docker_image_is_refused():
    data = fixture("model.yaml")
    data["container_type"] = "SingularityFile"
    assert problems_of(data) == [
        "container_type: must be DockerImage, not 'SingularityFile'; "
        "this portal runs Docker images only"
    ]


def test_missing_container_type_is_refused():
    data = fixture("model.yaml")
    del data["container_type"]
    assert problems_of(data)[0].startswith("container_type: is required")


def test_missing_image_is_refused():
    data = fixture("model.yaml")
    del data["image"]
    assert problems_of(data) == [
        "image: is required; give the Docker image, such as example/prep:1.0"
    ]


@pytest.mark.parametrize(
    "image",
    ["Example/Prep:1.0", "example/prep:-bad", "https://hub.docker.com/r/example/prep",
     "example/prep@sha256:abc", "example//prep", "example/prep:1.0 latest", 12],
)  # fmt: skip
def test_invalid_image_reference_is_refused(image):
    data = fixture("model.yaml")
    data["image"] = image
    (problem,) = problems_of(data)
    assert problem.startswith("image: ")


def test_missing_tasks_is_refused():
    data = fixture("model.yaml")
    del data["tasks"]
    assert problems_of(data) == ["tasks: is required; list the container's tasks, such as infer"]


def test_empty_tasks_is_refused():
    data = fixture("model.yaml")
    data["tasks"] = {}
    assert problems_of(data) == ["tasks: is empty; list the container's tasks, such as infer"]


def test_unknown_top_level_key_is_refused():
    data = fixture("model.yaml")
    data["platform"] = {"accelerator_count": 0}
    (problem,) = problems_of(data)
    assert problem.startswith("platform: unknown setting 'platform'")


def test_mlcube_file_is_recognised_and_refused():
    data = {"name": "x", "docker": {"image": "a/b:1"}, "tasks": {"infer": {}}}
    (problem,) = problems_of(data)
    assert "looks like an MLCube file" in problem


def test_unknown_task_is_refused():
    data = fixture("model.yaml")
    data["tasks"]["train"] = {}
    (problem,) = problems_of(data)
    assert problem.startswith("tasks.train: unknown task 'train'")


def test_mixed_roles_are_refused():
    data = fixture("prep.yaml")
    data["tasks"].update(fixture("model.yaml")["tasks"])
    (problem,) = problems_of(data)
    assert problem.startswith("tasks: a container has exactly one role")
    assert "this file has prepare, sanity_check, statistics, infer" in problem


def test_partial_data_preparator_is_refused_naming_what_is_missing():
    data = fixture("prep.yaml")
    del data["tasks"]["sanity_check"]
    assert problems_of(data) == [
        "tasks: a data preparator needs prepare, sanity_check and statistics; "
        "sanity_check is missing"
    ]


def test_unknown_task_key_is_refused():
    (problem,) = problems_of(model(outputs={}))
    assert problem.startswith("tasks.infer.outputs: unknown setting 'outputs'")


def test_missing_volume_type_is_refused():
    data = with_volume("input_volumes", "data_path", {"mount_path": "/data"})
    assert problems_of(data) == [
        "tasks.infer.input_volumes.data_path.type: is required; write type: file or type: directory"
    ]


def test_bad_volume_type_is_refused():
    data = with_volume("input_volumes", "data_path", mount("/data", "folder"))
    assert problems_of(data) == [
        "tasks.infer.input_volumes.data_path.type: must be file or directory, not 'folder'"
    ]


def test_missing_mount_path_is_refused():
    data = with_volume("input_volumes", "data_path", {"type": "directory"})
    (problem,) = problems_of(data)
    assert problem.startswith("tasks.infer.input_volumes.data_path.mount_path: is required")


def test_relative_mount_path_is_refused():
    data = with_volume("input_volumes", "data_path", mount("data/in"))
    assert problems_of(data) == [
        "tasks.infer.input_volumes.data_path.mount_path: "
        "must be an absolute path such as /data/input, not 'data/in'"
    ]


@pytest.mark.parametrize("path", ["/", "//", "/data/..", "/./"])
def test_mount_path_root_is_refused(path):
    (problem,) = problems_of(with_volume("input_volumes", "data_path", mount(path)))
    assert "must not be the root folder /" in problem


@pytest.mark.parametrize("path", ["/proc", "/proc/self", "/data/../proc/x", "//proc"])
def test_mount_path_under_proc_is_refused(path):
    (problem,) = problems_of(with_volume("input_volumes", "data_path", mount(path)))
    assert problem.startswith(
        "tasks.infer.input_volumes.data_path.mount_path: must not be under /proc"
    )


@pytest.mark.parametrize("path", ["/sys", "/sys/fs/cgroup"])
def test_mount_path_under_sys_is_refused(path):
    (problem,) = problems_of(with_volume("output_volumes", "output_path", mount(path)))
    assert problem.startswith(
        "tasks.infer.output_volumes.output_path.mount_path: must not be under /sys"
    )


@pytest.mark.parametrize("path", ["/dev", "/dev/shm/x"])
def test_mount_path_under_dev_is_refused(path):
    (problem,) = problems_of(with_volume("input_volumes", "data_path", mount(path)))
    assert "must not be under /dev" in problem


def test_mount_path_that_only_starts_like_a_system_folder_is_fine():
    data = with_volume("input_volumes", "data_path", mount("/devices/data"))
    assert parse_container_config(yaml.safe_dump(data)).tasks["infer"].inputs


def test_mount_path_with_colon_is_refused():
    (problem,) = problems_of(with_volume("input_volumes", "data_path", mount("/data:rw")))
    assert "must not contain ':'" in problem


def test_mount_path_tmp_is_refused():
    (problem,) = problems_of(with_volume("input_volumes", "data_path", mount("/tmp/")))
    assert "must not be /tmp" in problem


def test_duplicate_mount_path_in_one_task_is_refused():
    data = with_volume("output_volumes", "output_path", mount("/mlcube_io0/"))
    assert problems_of(data) == [
        "tasks.infer.output_volumes.output_path.mount_path: /mlcube_io0 is already used by "
        "input_volumes.data_path; each volume needs its own path"
    ]


def test_same_mount_path_in_different_tasks_is_fine():
    config = parse_container_config((CONFIGS / "prep.yaml").read_bytes())
    assert config.tasks["prepare"].inputs["data_path"].mount_path == "/mlcube_io0"
    assert config.tasks["statistics"].inputs["data_path"].mount_path == "/mlcube_io0"


def test_unknown_volume_name_is_refused_listing_the_allowed_ones():
    data = with_volume("input_volumes", "foo", mount("/foo"))
    assert problems_of(data) == [
        "tasks.infer.input_volumes.foo: unknown volume name 'foo'; the infer task may use: "
        "data_path, parameters_file, additional_files (inputs) and output_path (outputs)"
    ]


def test_input_name_used_as_output_is_refused():
    data = with_volume("output_volumes", "data_path", mount("/elsewhere"))
    assert problems_of(data) == [
        "tasks.infer.output_volumes.data_path: 'data_path' is an input of the infer task; "
        "move it under input_volumes"
    ]


def test_output_of_sanity_check_is_refused():
    data = fixture("prep.yaml")
    data["tasks"]["sanity_check"]["output_volumes"] = {"output_path": mount("/out")}
    (problem,) = problems_of(data)
    assert problem.startswith("tasks.sanity_check.output_volumes.output_path: ")
    assert "it has no outputs" in problem


def test_directory_for_a_file_output_is_refused():
    data = fixture("evaluator.yaml")
    data["tasks"]["evaluate"]["output_volumes"]["output_path"]["type"] = "directory"
    assert problems_of(data) == [
        "tasks.evaluate.output_volumes.output_path.type: must be file; "
        "the evaluate task's output_path is always a single file"
    ]


def test_file_for_a_directory_volume_is_refused():
    data = with_volume("output_volumes", "output_path", mount("/out", "file"))
    (problem,) = problems_of(data)
    assert problem.startswith("tasks.infer.output_volumes.output_path.type: must be directory")


def test_parameters_file_as_directory_is_refused():
    data = with_volume("input_volumes", "parameters_file", mount("/params"))
    (problem,) = problems_of(data)
    assert problem.startswith("tasks.infer.input_volumes.parameters_file.type: must be file")


def test_unknown_volume_key_is_refused():
    data = with_volume("input_volumes", "data_path", {**mount("/d"), "read_only": True})
    (problem,) = problems_of(data)
    assert problem.startswith("tasks.infer.input_volumes.data_path.read_only: unknown setting")


def test_task_that_is_not_a_mapping_is_refused():
    data = fixture("model.yaml")
    data["tasks"]["infer"] = ["data_path"]
    (problem,) = problems_of(data)
    assert problem.startswith("tasks.infer: must be a mapping")


def test_several_problems_are_all_reported_with_their_paths():
    data = copy.deepcopy(fixture("prep.yaml"))
    data["container_type"] = "Other"
    data["image"] = "Not A Reference"
    prepare = data["tasks"]["prepare"]
    prepare["input_volumes"]["data_path"]["mount_path"] = "relative"
    prepare["input_volumes"]["labels_path"]["type"] = "dir"
    prepare["output_volumes"]["output_labels_path"]["mount_path"] = "/proc/x"
    prepare["run_args"]["gpus"] = "lots"
    data["tasks"]["statistics"]["output_volumes"]["output_path"]["type"] = "directory"
    with pytest.raises(ConfigError) as caught:
        parse_container_config(yaml.safe_dump(data))
    paths = [problem.split(": ", 1)[0] for problem in caught.value.problems]
    assert paths == [
        "container_type",
        "image",
        "tasks.prepare.input_volumes.data_path.mount_path",
        "tasks.prepare.input_volumes.labels_path.type",
        "tasks.prepare.output_volumes.output_labels_path.mount_path",
        "tasks.prepare.run_args.gpus",
        "tasks.statistics.output_volumes.output_path.type",
    ]
    assert str(caught.value).startswith("the configuration file has 7 problems:\n- ")


# --- parameters files ----------------------------------------------------------------------


def test_parameters_mapping_is_parsed():
    params = parse_parameters((CONFIGS / "prep_parameters.yaml").read_bytes())
    assert params["image_output_size"] == [28, 28, 1]
    assert params["label_column_id"] == "Label"


@pytest.mark.parametrize("text", [b"", b"\n# nothing yet\n"])
def test_empty_parameters_file_is_an_empty_mapping(text):
    assert parse_parameters(text) == {}


def test_parameters_list_is_refused():
    with pytest.raises(YamlError, match="the parameters file must be a mapping of names to values"):
        parse_parameters(b"- 1\n- 2\n")


def test_parameters_anchor_is_refused():
    with pytest.raises(YamlError, match="anchor"):
        parse_parameters(b"a: &x [1]\nb: *x\n")
