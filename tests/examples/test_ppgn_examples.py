"""The seven PPGN example scripts, end to end on the tiny nets (pointed at
them by environment variables), each checked for the pictures it makes."""
import os
import subprocess

import pytest

from prefinput.image import imread

pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")


def test_scripts_want_their_argument(repo, tmp_path):
    result = subprocess.run(["bash", str(repo / "1_class_conditional_sampling.sh")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Provide 1 output unit number" in result.stderr and not result.stdout
    assert not os.listdir(tmp_path)  # nothing made


@pytest.mark.parametrize("script", ["1_activate_output.sh", "1_class_conditional_sampling.sh",
                                    "5_caption_conditional_sampling.sh", "7_inpainting.sh"])
def test_scripts_answer_help_and_do_nothing_else(repo, tmp_path, script):
    env = dict(os.environ, PYTHON="/nonexistent/python")  # no program may run
    result = subprocess.run(["bash", str(repo / script), "--help"], cwd=tmp_path, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0 and script in result.stdout and "OUTPUT_DIR" in result.stdout, result.stdout
    assert not os.listdir(tmp_path)


def test_example_1_chain_montage(ppgn_environment, run_ppgn_example, tmp_path):
    run_ppgn_example("1_class_conditional_sampling.sh", "7", tmp_path, ppgn_environment, N_ITERS="10")
    out = tmp_path / "output" / "fc8_chain_7_eps1_1e-5_eps3_1e-17"
    assert sorted(os.listdir(out / "samples")) == ["00000.jpg", "00005.jpg", "00010.jpg"]
    assert (out / "fc8_0007_0010_1.0_h_1e-05_1.0_1e-17_0.0__0.jpg").is_file()
    height, width, _ = imread(out / "chain_7_hx_1e-5_noise_1e-17__0.jpg").shape
    assert (height, width) == (27 + 2, 10 * (27 + 2))  # a row of 10 tiles (as `montage -tile 10x` makes), 1-pixel borders


def test_example_2_many_classes_labelled_with_gif(ppgn_environment, run_ppgn_example, tmp_path):
    from wand.image import Image
    run_ppgn_example("2_class_conditional_sampling_many.sh", "1e-5", tmp_path, ppgn_environment,
                     UNITS="3 7", N_ITERS="3")
    out = tmp_path / "output" / "fc8_chain_3_7_eps1_1e-5_eps3_1e-17"
    assert len(os.listdir(out / "samples")) == 7
    assert imread(out / "samples" / "00000.jpg").shape[0] > 27  # labelled
    assert (out / "chain_3_7_hx_1e-5_noise_1e-17__0.jpg").is_file()
    with Image(filename=str(out / "chain_3_7_hx_1e-5_noise_1e-17__0.jpg.gif")) as gif:
        assert len(gif.sequence) == 7 and gif.sequence[0].delay == 5


def test_example_3_hidden_unit_cropped_to_its_receptive_field(ppgn_environment, run_ppgn_example, tmp_path):
    run_ppgn_example("3_hidden_conditional_sampling.sh", "3", tmp_path, ppgn_environment,
                     N_ITERS="20", XY="2", THRESHOLD="-1")
    out = tmp_path / "output" / "conv5_chain_3_eps1_1e-5_eps3_1e-17"
    assert sorted(os.listdir(out / "samples")) == ["00000.jpg", "00010.jpg", "00020.jpg"]
    assert imread(out / "samples" / "00010.jpg").shape[:2] == (19, 19)  # 163/227 of 27, at 32/227 of 27
    assert (out / "chain_3_hx_1e-5_noise_1e-17__0.jpg").is_file()


def test_example_4_places_hidden_unit_with_default_threshold(ppgn_environment, run_ppgn_example, tmp_path):
    result = run_ppgn_example("4_hidden_conditional_sampling_placesCNN.sh", "5", tmp_path, ppgn_environment,
                              N_ITERS="10", XY="1")
    out = tmp_path / "output" / "conv5_chain_5_eps1_1e-7_eps3_1e-17"
    assert (out / "conv5_0005_0010_1.0_h_1e-07_1.0_1e-17_0.0__0.jpg").is_file()
    kept = os.listdir(out / "samples")
    assert (out / "chain_5_hx_1e-7_noise_1e-17__0.jpg").is_file() == bool(kept)
    assert bool(kept) or "No samples" in result.stdout


def test_example_5_caption_sheet(ppgn_environment, run_ppgn_example, lrcn, tmp_path):
    run_ppgn_example("5_caption_conditional_sampling.sh", "a_red_car", tmp_path, ppgn_environment, N_ITERS="2",
                     NET_DEFINITION=lrcn["net_definition"], NET_WEIGHTS=lrcn["net_weights"],
                     CAPTIONER_DEFINITION=lrcn["captioner_definition"], VOCAB_FILE=lrcn["vocab_file"])
    out = tmp_path / "output" / "fc8_eps1_1e-3_eps3_1e-17" / "a_red_car"
    finals = sorted(p.name for p in out.glob("fc8_*.jpg"))
    assert finals == [f"fc8_0002_1.0_h_0.001_1.0_1e-17__{seed}.jpg" for seed in range(3)]
    height, width, _ = imread(out / "a_red_car.jpg").shape
    assert width >= 3 * (27 + 2) and height > 27 + 2  # three seeds in a row, the sentence below


def test_example_6_from_a_real_image(ppgn_environment, run_ppgn_example, tmp_path):
    run_ppgn_example("6_class_conditional_sampling_from_real_image.sh", "2", tmp_path, ppgn_environment,
                     N_ITERS="5")
    out = tmp_path / "output" / "fc8_chain_2_eps1_1e-5_eps3_1e-17"
    assert (out / "fc8_0002_0005_0.5_h_1e-05_1.0_1e-17_0.0__0.jpg").is_file()
    assert (out / "chain_2_hx_1e-5_noise_1e-17__0.jpg").is_file()


def test_example_7_inpainting_sheet(ppgn_environment, run_ppgn_example, tmp_path):
    run_ppgn_example("7_inpainting.sh", "4", tmp_path, ppgn_environment, N_ITERS="3", SEEDS="0 1")
    out = tmp_path / "output" / "fc8_chain_4_eps1_1e-5_eps3_0"
    finals = sorted(out.glob("fc8_*.jpg"))
    assert [p.name for p in finals] == [f"fc8_0004_0003_1.0_h_1e-05_1.0_0.0_1e-09__{seed}.jpg" for seed in (0, 1)]
    assert imread(finals[0]).shape[:2] == (27, 2 * 27 + 1)  # masked image | filled in
    assert imread(out / "inpainting.jpg").shape[:2] == (27 + 2, 5 * (2 * 27 + 1 + 2))  # -tile 5x
