"""The one program interface (prefinput/program.py): every program of the
registry has each member, and on the tiny nets its load_nets gives the nets
by name with `.classifier` and its run a list of Results naming the files it
made; the driver and sweep.py know the programs only through the registry."""
import ast
import os
from pathlib import Path

import pytest

from prefinput import program
from prefinput.results import Result

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def argv_of(tiny, shared_path, lrcn, tmp_path, monkeypatch):
    """argv_of(name): a short run of the program on the tiny nets, into tmp_path/out."""
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    classifier, generator = tiny["classifier"], tiny["generator"]
    misc = shared_path("reference", "ppgn", "misc")
    out = str(tmp_path / "out")
    os.mkdir(out)
    ppgn = ["--encoder_definition", classifier[0], "--encoder_weights", classifier[1],
            "--generator_definition", generator[0], "--generator_weights", generator[1],
            "--mean_file_mat", str(misc / "ilsvrc_2012_mean.mat"), "--n_iters", "2", "--output_dir", out]
    for name, value in {"NET_DEFINITION": classifier[0], "NET_WEIGHTS": classifier[1],
                        "GENERATOR_DEFINITION": generator[0], "GENERATOR_WEIGHTS": generator[1],
                        "BOUND_FILE": tiny["fc6_bound"], "N_ITERS": "2",
                        "MEAN_FILE_NPY": str(shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")),
                        "XDG_CACHE_HOME": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(name, value)  # cnnpref's examples read the environment
    runs = {
        "act_max": ["--unit", "1", "--n_iters", "2", "--net_definition", classifier[0], "--net_weights",
                    classifier[1], "--generator_definition", generator[0], "--generator_weights", generator[1],
                    "--output_dir", out],
        "sampling_class": ["--units", "1", "--net_definition", classifier[0], "--net_weights", classifier[1],
                           "--synset_file", str(misc / "synset_words.txt"), *ppgn],
        "sampling_caption": ["--sentence", "a_red_car", *[item for key, value in lrcn.items()
                                                          for item in (f"--{key}", value)], *ppgn],
        "cnn_vis": ["--deploy_txt", classifier[0], "--caffe_model", classifier[1], "--gpu", "-1", "--mean_image",
                    os.environ["MEAN_FILE_NPY"], "--image_type", "amplify_neuron", "--target_layer", "conv3",
                    "--target_neuron", "1", "--num_steps", "1",
                    "--iter_behavior", "print", "--output_file", os.path.join(out, "out.png")],
        "cnnpref": ["--channel", "1", "--variant", "dgn_gd", "--output_dir", out],
    }
    return runs.__getitem__


def test_the_registry_names_every_program():
    assert set(program.PROGRAMS) == {"act_max", "sampling_class", "sampling_caption", "cnn_vis", "cnnpref"}


@pytest.mark.parametrize("name", sorted(program.PROGRAMS))
def test_each_program_has_every_member(name):
    module = program.load(name)
    for member in program.MEMBERS:
        assert hasattr(module, member), f"{name} has no {member}"
        if member.islower():
            assert callable(getattr(module, member)), f"{name}.{member} is not a function"
    assert module.UNITS and all(isinstance(units, program.Units) for units in module.UNITS)
    written = {member for member in vars(program.Program) if not member.startswith("_")}
    assert written | set(program.Program.__annotations__) == set(program.MEMBERS)


@pytest.mark.parametrize("name", sorted(program.PROGRAMS))
def test_load_nets_gives_the_classifier_and_run_the_files_it_made(name, argv_of, capsys):
    module = program.load(name)
    args = module.parse_args(argv_of(name))
    assert all(isinstance(path, str) for path in module.needed_files(args))
    assert all(hasattr(args, flag) for flag in module.NET_FLAGS)
    assert module.sweep_problem(args) is None
    loaded = module.load_nets(args)
    assert isinstance(loaded, program.Loaded) and isinstance(loaded.classifier, caffe.Net)
    module.check_units(args, loaded)
    results = module.run(args, loaded)
    assert isinstance(results, list) and len(results) == 1
    assert all(isinstance(result, Result) and os.path.isfile(result.file) for result in results)
    assert os.path.dirname(results[0].file) == module.output_folder(args)
    assert module.units_of(args) == ([] if name == "sampling_caption" else [1])


@pytest.mark.parametrize("name", sorted(program.PROGRAMS))
def test_output_argv_sends_the_files_into_the_folder(name, argv_of, tmp_path):
    module = program.load(name)
    args = module.parse_args(argv_of(name) + module.output_argv(str(tmp_path)))
    assert module.output_folder(args) == str(tmp_path)


def names_in_code(path):
    """The identifiers and strings of a Python file, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node)}
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.add(node.value)
    return words


@pytest.mark.parametrize("path", ["examples/driver.py", "sweep.py"])
def test_the_driver_and_sweep_name_no_program(path):
    names = set(program.PROGRAMS) | {module for module, _ in program.PROGRAMS.values()}
    found = {word for word in names_in_code(ROOT / path) for name in names if name in word}
    assert not found, f"{path} names {found}: go through prefinput.program"
