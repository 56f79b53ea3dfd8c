"""act_max.py --batch: several units in one forward/backward pass give what
one-at-a-time runs give, bit for bit in the goldens' environment: Caffe
convolves a batch image by image, and its InnerProduct computes each image's
row as the one-row product of batch 1 (docker/patches/0003)."""
import os
import stat
import subprocess

import numpy as np
import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")


# The bits are the same with the goldens' kernels (pinned_environment):
# elsewhere OpenBLAS may round a batch's product its own way.


@pytest.fixture
def act_max(tmp_path, tiny, monkeypatch, capsys):
    """act_max.main on the tiny nets with --save_raw; returns
    {unit: {'image', 'code'}} and what it printed."""
    import act_max
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")

    def run(units, *flags, batch=1, n_iters=5, net_weights=None):
        folder = tmp_path / f"batch{batch}"
        classifier, generator = tiny["classifier"], tiny["generator"]
        capsys.readouterr()
        act_max.main([str(flag) for flag in (
            "--unit", *units, "--batch", batch, "--n_iters", n_iters, "--L2", 0.99, "--start_lr", 8.0,
            "--end_lr", 1e-10, "--output_dir", folder, "--save_raw", "--net_definition", classifier[0],
            "--net_weights", net_weights or classifier[1], "--generator_definition", generator[0],
            "--generator_weights", generator[1], *flags)])
        results = {}
        for unit in units:
            name, = [name for name in os.listdir(folder) if name.endswith(".npz") and f"_{unit:04d}_" in name]
            assert os.path.isfile(folder / name.replace(".npz", ".jpg"))
            with np.load(folder / name) as data:
                results[unit] = {key: data[key] for key in data.files}
        return results, capsys.readouterr().out
    return run


def assert_same(batched, alone):
    for unit, result in alone.items():
        for key in ("image", "code"):
            assert batched[unit][key].dtype == result[key].dtype and np.array_equal(batched[unit][key], result[key]), (
                unit, key)


@pytest.mark.parametrize("case", ["fc8 with bounds", "conv5 at xy with clip"])
def test_a_batch_of_units_equals_one_unit_at_a_time(act_max, tiny, case, pinned_environment):
    flags = {"fc8 with bounds": ["--act_layer", "fc8", "--bound", tiny["fc6_bound"]],
             "conv5 at xy with clip": ["--act_layer", "conv5", "--xy", 1, "--clip", 1]}[case]
    alone, _ = act_max((3, 1, 7), *flags)
    batched, out = act_max((3, 1, 7), *flags, batch=3)
    assert_same(batched, alone)
    assert "Starting optimizing 3 units at once" in out and out.count("max:") == 3 * 5


def test_more_units_than_the_batch_run_in_batches(act_max, tiny, pinned_environment):
    alone, _ = act_max((2, 5, 9), "--bound", tiny["fc6_bound"])
    batched, out = act_max((2, 5, 9), "--bound", tiny["fc6_bound"], batch=2)
    assert_same(batched, alone)
    assert "optimizing 2 units at once" in out and "Starting optimizing\n" in out  # then 1: the original loop


def one_dead_unit(tmp_path, definition, weights, unit):
    """Weights whose fc8 `unit` has zero weights and bias: its gradient is 0."""
    import caffe
    net = caffe.Net(definition, weights, caffe.TEST)
    for blob in net.params["fc8"]:
        blob.data[unit] = 0
    path = str(tmp_path / "dead.caffemodel")
    net.save(path)
    return path


def test_a_unit_that_stops_keeps_its_result_while_the_others_go_on(act_max, tmp_path, tiny, pinned_environment):
    weights = one_dead_unit(tmp_path, *tiny["classifier"], 4)
    alone, _ = act_max((1, 4, 6), net_weights=weights)
    batched, out = act_max((1, 4, 6), batch=3, net_weights=weights)
    assert_same(batched, alone)
    assert " unit 4: grad_norm_generator is 0" in out  # its image did not move: nothing for the generator
    assert out.count("obj:    1 ") == 5 and out.count("obj:    6 ") == 5 and "obj:    4 " not in out


def test_debug_needs_batch_1(act_max, capsys):
    with pytest.raises(SystemExit) as stop:
        act_max((1, 2), "--debug", 1, batch=2)
    assert stop.value.code == 2 and "--debug 1" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["1_activate_output.sh", "2_activate_output_placesCNN.sh", "4_activate_hidden.sh",
                                    "5_activate_output_GoogLeNet.sh"])
def test_the_example_scripts_pass_batch_on_and_default_to_one_at_a_time(repo, tmp_path, script):
    arguments = tmp_path / "arguments"
    python = tmp_path / "python"  # records act_max.py's command line instead of running it
    python.write_text(f'#!/bin/sh\necho "$@" >> "{arguments}"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    for batch in ("5", None):
        env = dict(os.environ, PYTHON=str(python), NETS_DIR=str(tmp_path), OUTPUT_DIR=str(tmp_path / "out"))
        if batch:
            env["BATCH"] = batch
        subprocess.run([str(repo / script)], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60)
    with_batch, default = arguments.read_text().splitlines()
    assert (with_batch + " ").count(" --batch 5 ") == 1 and (default + " ").count(" --batch 1 ") == 1
