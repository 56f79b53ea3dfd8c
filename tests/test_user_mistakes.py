"""Every user mistake is one line before the work starts, and nothing a user
had is lost: a table of commands, each run as a program on the tiny nets in a
folder that holds an earlier run's outputs.

A row: (id, command, exit status, the one line's pattern).  The command is
a list of words with {placeholders}: the tiny nets' files, data files, the
output folder {out} (which holds an earlier run's files) and {tmp}, and any
name in MAKERS, whose maker writes that (broken) file first.  Every row
asserts: the exit status; for status 2, stderr is exactly one line, matching
the pattern, without a traceback or a glog dump; and the earlier run's files
are byte for byte as they were.
"""
import os
import subprocess
import sys

import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")

NETS = ["--net_definition", "{classifier}", "--net_weights", "{classifier_weights}",
        "--generator_definition", "{generator}", "--generator_weights", "{generator_weights}",
        "--encoder_definition", "{classifier}", "--encoder_weights", "{classifier_weights}"]
ACT_MAX = ["act_max.py", *NETS, "--n_iters", "2", "--output_dir", "{out}"]
SAMPLING = ["sampling_class.py", *NETS, "--synset_file", "{synsets}", "--mean_file_mat", "{mean_mat}",
            "--n_iters", "2", "--output_dir", "{out}"]
CNN_VIS = ["cnn_vis.py", "--deploy_txt", "{classifier}", "--caffe_model", "{classifier_weights}",
           "--mean_image", "{mean_npy}", "--gpu", "-1", "--num_steps", "2", "--output_file", "{out}/vis.png"]


def make_text(name, text):
    def make(tmp):
        path = tmp / name
        path.write_text(text)
        return path
    return make


# Broken files a row can name as {placeholder}: name -> maker(tmp) -> path
MAKERS = {
    "not_an_image": make_text("start.jpg", "this is text, not a JPEG"),
}

# --- rows: arguments and values (issue 12 point 5) ---------------------------
ROWS_ARGUMENTS = [
    ("act_max unknown blob", [*ACT_MAX, "--unit", "1", "--act_layer", "nonesuch"], 2,
     r"--act_layer nonesuch: the net has no such blob; it has data, conv1, "),
    ("act_max unit out of range", [*ACT_MAX, "--unit", "10"], 2, r"--unit 10: fc8 has units 0\.\.9"),
    ("sampling_class unit out of range", [*SAMPLING, "--units", "10"], 2, r"--unit 10: fc8 has units 0\.\.9"),
]

# --- rows: model files (issue 12 point 1) -------------------------------------
ROWS_MODELS = [
]

# --- rows: finite values (issue 12 point 2) -----------------------------------
ROWS_FINITE = [
]

# --- rows: checks before the work (issue 12 point 3) --------------------------
ROWS_CHECKS = [
]

# --- rows: never destroy (issue 12 point 4) -----------------------------------
ROWS_NEVER_DESTROY = [
]

ROWS = ROWS_ARGUMENTS + ROWS_MODELS + ROWS_FINITE + ROWS_CHECKS + ROWS_NEVER_DESTROY


@pytest.fixture
def places(tiny, shared_path, tmp_path):
    """The placeholders' values, with an earlier run's files in {out}."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "fc8_0001_02_1.0_2.0__0.jpg").write_bytes(b"an earlier run's image")
    (out / "samples").mkdir()
    (out / "samples" / "00000.jpg").write_bytes(b"an earlier run's sample")
    return {
        "classifier": tiny["classifier"][0], "classifier_weights": tiny["classifier"][1],
        "generator": tiny["generator"][0], "generator_weights": tiny["generator"][1],
        "bound": tiny["fc6_bound"],
        "synsets": str(shared_path("reference", "ppgn", "misc", "synset_words.txt")),
        "mean_mat": str(shared_path("reference", "ppgn", "misc", "ilsvrc_2012_mean.mat")),
        "mean_npy": str(shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")),
        "out": str(out), "tmp": str(tmp_path),
    }


def snapshot(folder):
    """{relative path: bytes} of every file below `folder`."""
    return {os.path.relpath(os.path.join(top, name), folder): open(os.path.join(top, name), "rb").read()
            for top, _, names in os.walk(folder) for name in names}


@pytest.mark.parametrize("command, status, line", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_a_mistake_is_one_line_and_nothing_is_lost(command, status, line, places, tmp_path, repo):
    import re
    values = dict(places)
    for word in command:
        for name in re.findall(r"\{(\w+)\}", word):
            if name in MAKERS and name not in values:
                values[name] = str(MAKERS[name](tmp_path))
    argv = [word.format(**values) for word in command]
    program = argv[0] if argv[0].endswith(".sh") else None
    argv = [str(repo / argv[0])] + argv[1:] if program else [sys.executable, str(repo / argv[0])] + argv[1:]
    before = snapshot(places["out"])
    env = dict(os.environ, PREFINPUT_OFFLINE="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == status, done.stdout[-2000:] + done.stderr[-2000:]
    if status == 2:
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
        assert re.search(line, done.stderr), done.stderr
    after = snapshot(places["out"])
    assert {name: after.get(name) for name in before} == before, "an earlier run's file changed or went"
