"""Nothing a user had is lost (issue 12 point 4): pictures are written whole or
not at all, a montage is always one picture, an interrupted run (SIGTERM, as
`docker stop` or a batch scheduler sends) exits 143 leaving no partial files,
a PPGN chain keeps the samples it made, and a rerun replaces the earlier chain
only once it has succeeded."""
import contextlib
import glob
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from wand.image import Image

from prefinput import collage
from prefinput.image import imread

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]


def tiles(count, size=8):
    return [np.full((size, size, 3), colour, np.uint8) for colour in COLOURS[:count]]


def part_files(folder):
    """Every temporary (`.part`) file or folder left below `folder`."""
    return [os.path.join(top, name) for top, dirs, names in os.walk(folder) for name in dirs + names
            if ".part." in name or ".new-" in name or ".old-" in name]


# --- montages -------------------------------------------------------------------

def test_a_montage_with_more_images_than_its_tile_is_one_whole_picture(tmp_path):
    out = tmp_path / "collage.png"
    collage.montage(tiles(6), str(out), tile=(5, 1), trim=False)
    assert os.listdir(tmp_path) == ["collage.png"]  # no collage-0.png, collage-1.png, no .part files
    with Image(filename=str(out)) as picture:
        assert len(picture.sequence) == 1 and picture.size == (5 * 10, 2 * 10)  # a second row, 1-pixel borders
    assert tuple(imread(out)[10 + 5, 5]) == COLOURS[5]  # the sixth image, first in the second row


def test_a_trimmed_jpeg_montage_with_more_images_than_its_tile_is_one_picture(tmp_path):
    out = tmp_path / "example1.jpg"
    collage.montage(tiles(6), str(out), tile=(5, 1))
    assert os.listdir(tmp_path) == ["example1.jpg"] and out.stat().st_size > 0
    assert imread(out).shape[0] >= 2 * 10 - 2  # two rows of 8 pixels and their borders (trimmed or not)


def test_an_earlier_collage_is_replaced_only_by_a_whole_new_one(tmp_path, monkeypatch):
    out = tmp_path / "example1.jpg"
    collage.montage(tiles(5), str(out), tile=(5, 1))
    earlier = out.read_bytes()
    broken = tmp_path / "broken.jpg"
    broken.write_text("this is text, not a JPEG")
    with pytest.raises(Exception):
        collage.montage([*tiles(5), str(broken)], str(out), tile=(5, 1))
    assert out.read_bytes() == earlier

    # interrupted between writing the montage and trimming it: still the earlier one
    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(collage.library, "MagickTrimImage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        collage.montage(tiles(6), str(out), tile=(5, 1))
    assert out.read_bytes() == earlier and not part_files(tmp_path)

    monkeypatch.undo()
    collage.montage(tiles(6), str(out), tile=(5, 1))
    assert imread(out).shape[0] > imread(collage.montage(tiles(5), str(tmp_path / "one_row.jpg"))).shape[0]
    assert sorted(os.listdir(tmp_path)) == ["broken.jpg", "example1.jpg", "one_row.jpg"]


def test_saving_several_frames_as_one_picture_writes_nothing(tmp_path):
    out = tmp_path / "two.jpg"
    out.write_bytes(b"an earlier picture")
    with Image() as frames:
        for array in tiles(2):
            with Image.from_array(array) as frame:
                frames.image_add(frame)
        with pytest.raises(ValueError, match="2 frames"):
            collage.save(frames, str(out))
    assert os.listdir(tmp_path) == ["two.jpg"] and out.read_bytes() == b"an earlier picture"


# --- interrupted runs -------------------------------------------------------------

needs_caffe = pytest.mark.skipif(importlib.util.find_spec("caffe") is None,
                                 reason="pycaffe is not importable (run make setup)")


@pytest.fixture
def flags(tiny, shared_path):
    misc = shared_path("reference", "ppgn", "misc")
    return ["--net_definition", tiny["classifier"][0], "--net_weights", tiny["classifier"][1],
            "--generator_definition", tiny["generator"][0], "--generator_weights", tiny["generator"][1],
            "--encoder_definition", tiny["classifier"][0], "--encoder_weights", tiny["classifier"][1]], \
        ["--synset_file", str(misc / "synset_words.txt"), "--mean_file_mat", str(misc / "ilsvrc_2012_mean.mat")]


def interrupt_when(argv, cwd, ready, timeout=120):
    """Start `argv` in its own session (a background job of a shell would
    ignore SIGINT anyway), send SIGTERM once `ready()` is true; return the
    exit status and stderr."""
    env = dict(os.environ, PREFINPUT_OFFLINE="1", OPENBLAS_NUM_THREADS="1")
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert process.poll() is None, process.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the run made nothing to interrupt"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr


@needs_caffe
def test_an_interrupted_chain_keeps_its_samples_and_the_earlier_chain(flags, tmp_path, repo, snapshot):
    nets, data = flags
    out = tmp_path / "out"
    (out / "samples").mkdir(parents=True)
    (out / "samples" / "00000.jpg").write_bytes(b"an earlier run's sample")
    (out / "samples" / "00007.jpg").write_bytes(b"another")
    earlier = snapshot(out / "samples")
    argv = [sys.executable, str(repo / "sampling_class.py"), *nets, *data, "--units", "1", "--n_iters", "1000000",
            "--save_every", "1", "--write_labels", "--output_dir", str(out)]
    status, stderr = interrupt_when(argv, tmp_path, lambda: len(glob.glob(str(out / "samples.new-*" / "*.jpg"))) >= 3)
    assert status == 143 and "sampling_class.py: interrupted" in stderr, stderr[-3000:]
    assert snapshot(out / "samples") == earlier
    kept = sorted(os.listdir(out / "samples.partial"))
    assert len(kept) >= 3 and kept == ["%05d.jpg" % i for i in range(len(kept))]
    for name in kept:  # each whole, labelled (taller than the 27x27 image)
        assert imread(out / "samples.partial" / name).shape[0] > 27
    assert sorted(os.listdir(out)) == ["samples", "samples.partial"]  # no final image: the run did not finish
    assert not part_files(tmp_path)


@needs_caffe
def test_an_interrupted_act_max_exits_143_without_partial_files(flags, tmp_path, repo):
    nets, _ = flags
    out = tmp_path / "out"
    out.mkdir()
    import act_max
    args = act_max.parse_args([*nets, "--unit", "1", "--n_iters", "1000000", "--output_dir", str(out)])
    final = act_max.output_name(str(out), args.act_layer, 1, args.n_iters, args.L2, args.start_lr, args.seed)
    with open(final, "wb") as f:
        f.write(b"an earlier run's image")
    (out / "debug").mkdir()
    (out / "debug" / "000.jpg").write_bytes(b"an earlier run's iteration")
    argv = [sys.executable, str(repo / "act_max.py"), *nets, "--unit", "1", "--n_iters", "1000000",
            "--debug", "1", "--output_dir", str(out)]
    status, stderr = interrupt_when(argv, tmp_path, lambda: len(glob.glob(str(out / "debug.new-*" / "*.jpg"))) >= 3)
    assert status == 143 and "act_max.py: interrupted" in stderr, stderr[-3000:]
    assert open(final, "rb").read() == b"an earlier run's image"
    assert os.listdir(out / "debug") == ["000.jpg"] and (out / "debug" / "000.jpg").read_bytes().startswith(b"an")
    assert not part_files(tmp_path)
    made = glob.glob(str(out / "debug.partial" / "*.jpg"))
    assert len(made) >= 3
    for name in made:
        assert imread(name).shape[:2] == (27, 27)  # every iteration written is whole


# --- reruns of an example -----------------------------------------------------------

CHAIN = "output/fc8_chain_7_eps1_1e-5_eps3_1e-17"


@needs_caffe
def test_a_rerun_replaces_the_samples_with_the_new_chain_only(ppgn_environment, run_ppgn_example, tmp_path):
    run_ppgn_example("1_class_conditional_sampling.sh", "7", tmp_path, ppgn_environment, N_ITERS="10")
    out = tmp_path / CHAIN
    assert sorted(os.listdir(out / "samples")) == ["00000.jpg", "00005.jpg", "00010.jpg"]
    run_ppgn_example("1_class_conditional_sampling.sh", "7", tmp_path, ppgn_environment, N_ITERS="5")
    assert sorted(os.listdir(out / "samples")) == ["00000.jpg", "00005.jpg"]  # not the first run's 00010.jpg
    assert not [name for name in os.listdir(out) if name.startswith("samples.")]
    assert not part_files(tmp_path)


@needs_caffe
def test_a_rerun_with_a_wrong_path_leaves_the_earlier_chain(ppgn_environment, run_ppgn_example, tmp_path, repo, snapshot):
    run_ppgn_example("1_class_conditional_sampling.sh", "7", tmp_path, ppgn_environment, N_ITERS="5")
    earlier = snapshot(tmp_path / CHAIN)
    done = subprocess.run(["bash", str(repo / "1_class_conditional_sampling.sh"), "7"], cwd=tmp_path,
                          env=dict(ppgn_environment, N_ITERS="5", NET_WEIGHTS=str(tmp_path / "typo.caffemodel")),
                          capture_output=True, text=True)
    assert done.returncode == 2 and "typo.caffemodel" in done.stderr, done.stderr[-3000:]
    assert snapshot(tmp_path / CHAIN) == earlier


# --- a numbered script stopped by its PID (issue 21) ------------------------------------


def as_pid_1_prefix():
    """A command prefix that runs a command as PID 1 of a new PID namespace,
    as root or (where user namespaces are allowed) as anyone; None where
    neither is allowed (a container: docker/test.sh checks `docker stop` there)."""
    for prefix in (["unshare", "--pid", "--fork"], ["unshare", "--user", "--map-root-user", "--pid", "--fork"]):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=60).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


def group_alive(pgid):
    """Whether any process of the process group `pgid` is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def only_child(pid, timeout=30):
    """The one child of `pid`, once it has one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError(f"{pid} started no child")


@needs_caffe
@pytest.mark.parametrize("as_pid_1", [False, True], ids=["kill -TERM PID", "PID 1 (unshare --pid --fork)"])
def test_a_numbered_script_stopped_by_its_pid_stops_python_and_keeps_the_samples(as_pid_1, ppgn_environment,
                                                                                 tmp_path, repo):
    """SIGTERM sent to the script's PID alone (a supervisor; `docker stop`,
    where it is PID 1 and ignores a signal it has no handler for) reaches the
    sampler, which exits 143 keeping its chain's samples; no Python is left."""
    argv = [str(repo / "1_class_conditional_sampling.sh"), "1"]
    if as_pid_1:
        prefix = as_pid_1_prefix()
        if prefix is None:
            pytest.skip("unshare may not make a PID namespace here (a container): docker/test.sh checks docker stop")
        argv = [*prefix, *argv]
    out = tmp_path / "output" / "fc8_chain_1_eps1_1e-5_eps3_1e-17"
    env = dict(ppgn_environment, N_ITERS="1000000", OUTPUT_DIR=str(tmp_path / "output"), OPENBLAS_NUM_THREADS="1")
    process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)  # its own process group, to find any orphan
    try:
        script = only_child(process.pid) if as_pid_1 else process.pid
        deadline = time.monotonic() + 120
        while len(glob.glob(str(out / "samples.new-*" / "*.jpg"))) < 3:
            assert process.poll() is None, process.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the chain made no samples to keep"
            time.sleep(0.05)
        os.kill(script, signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("30 s after SIGTERM to the script, the sampler still runs (or holds its stderr)")
        deadline = time.monotonic() + 30
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_alive(process.pid), "a process of the script is left running"
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143 and "interrupted" in stderr, stderr[-3000:]
    kept = sorted(os.listdir(out / "samples.partial"))
    assert len(kept) >= 3 and kept == ["%05d.jpg" % (5 * i) for i in range(len(kept))]
    assert not glob.glob(str(out / "samples.new-*"))


def commands(script):
    """The shell script's commands: its lines without comments, continuations joined."""
    text = script.read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE_SCRIPTS = sorted(glob.glob("[1-7]_*.sh", root_dir=ROOT) + ["examples/two_classes.sh"]
                         + glob.glob("examples/cnn-vis/example*.sh", root_dir=ROOT))


@pytest.mark.parametrize("script", EXAMPLE_SCRIPTS)
def test_every_example_script_ends_by_becoming_its_python(script, repo):
    """Python is started once, by the last command, which exec's it
    (run_example in examples/numbered.sh, which cnn_vis in examples/cnn-vis/common.sh calls):
    nothing would run after it, and a signal to the script's PID reaches Python."""
    lines = commands(repo / script)
    starts = [line for line in lines if line.split()[0] in ("run_example", "cnn_vis") or " exec " in f" {line} "]
    assert starts == [lines[-1]], f"{script}: Python is started by {starts}, not by its last command alone"
    numbered, cnn_vis = (commands(repo / "examples" / helper) for helper in ("numbered.sh", "cnn-vis/common.sh"))
    assert numbered[numbered.index("run_example() {") + 1].startswith("exec "), "run_example does not exec Python"
    assert cnn_vis[cnn_vis.index("cnn_vis() {") + 1].startswith("run_example "), "cnn_vis does not call run_example"


# --- two runs at once, killed runs, a full disk (issue 21) ------------------------------

@needs_caffe
def test_a_second_run_into_a_folder_in_use_is_refused_in_one_line(flags, tmp_path, repo):
    """Two chains into one folder would both exit 0 with one chain's samples gone: the second is refused."""
    nets, data = flags
    out = tmp_path / "out"
    chain = [sys.executable, str(repo / "sampling_class.py"), *nets, *data, "--save_every", "1", "--output_dir", str(out)]

    def second_is_refused():
        if len(glob.glob(str(out / "samples.new-*" / "*.jpg"))) < 2:
            return False
        done = subprocess.run([*chain, "--units", "2", "--n_iters", "2"], capture_output=True, text=True,
                              timeout=300, env=dict(os.environ, PREFINPUT_OFFLINE="1"))
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-3000:]
        assert done.stderr.startswith(f"sampling_class.py: error: --output_dir {out}: another run is writing into "
                                      f"this folder now; wait until it ends"), done.stderr
        return True
    status, stderr = interrupt_when([*chain, "--units", "1", "--n_iters", "1000000"], tmp_path, second_is_refused)
    assert status == 143, stderr[-3000:]
    kept = sorted(os.listdir(out / "samples.partial"))  # the first chain's, all of them
    assert len(kept) >= 2 and kept == ["%05d.jpg" % i for i in range(len(kept))]
    assert sorted(os.listdir(out)) == ["samples.partial"]


def killed_in_the_middle_of(code, folder, repo):
    """Run Python `code` (with `folder` as FOLDER) in a process that SIGKILLs itself where the code says KILL."""
    code = "import os, signal\nKILL = lambda: os.kill(os.getpid(), signal.SIGKILL)\n" + code
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, FOLDER=str(folder), PYTHONPATH=str(repo)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_what_a_killed_run_left_is_tidied_and_a_live_writers_file_is_not(tmp_path, repo):
    from prefinput.files import atomic_path, clean_stale
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "00000.jpg").write_bytes(b"an earlier sample")
    killed_in_the_middle_of("from prefinput.files import atomic_path\nwith atomic_path(os.environ['FOLDER'] + "
                            "'/image.jpg') as t:\n    open(t, 'w').write('half an image')\n    KILL()", tmp_path, repo)
    killed_in_the_middle_of("from prefinput.files import atomic_folder\nwith atomic_folder(os.environ['FOLDER'] + "
                            "'/samples') as f:\n    open(f + '/00000.jpg', 'w').write('a new sample')\n    KILL()",
                            tmp_path, repo)
    killed_in_the_middle_of("from prefinput.files import replace_folder\nf = os.environ['FOLDER']\n"
                            "os.mkdir(f + '/fresh')\nrename = os.rename\nos.rename = lambda a, b: (rename(a, b), KILL())\n"
                            "replace_folder(f + '/fresh', f + '/samples')", tmp_path, repo)  # between its two renames
    stale = part_files(tmp_path)
    assert len(stale) == 3, stale  # .XXXXXXXX.part.jpg, samples.new-XXXXXXXX, samples.old-XXXXXXXX
    (tmp_path / ".notes.part").write_text("a user's file, not one of ours")
    with atomic_path(tmp_path / "live.jpg") as live:
        open(live, "w").write("being written")
        clean_stale(tmp_path)
        assert os.path.exists(live)
    assert not part_files(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [".notes.part", "fresh", "live.jpg", "samples", "samples.partial"]
    assert (tmp_path / "samples" / "00000.jpg").read_text() == "an earlier sample"  # put back
    assert (tmp_path / "samples.partial" / "00000.jpg").read_text() == "a new sample"


@needs_caffe
def test_the_next_run_tidies_what_a_killed_run_left(flags, tmp_path, repo):
    nets, _ = flags
    out = tmp_path / "out"
    out.mkdir()
    killed_in_the_middle_of("from prefinput.files import atomic_path\nwith atomic_path(os.environ['FOLDER'] + "
                            "'/fc8_0001_02_1.0_2.0__0.jpg') as t:\n    open(t, 'w').write('half')\n    KILL()", out, repo)
    assert part_files(out)
    done = subprocess.run([sys.executable, str(repo / "act_max.py"), *nets, "--unit", "1", "--n_iters", "2",
                           "--output_dir", str(out)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PREFINPUT_OFFLINE="1"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert os.listdir(out) == ["fc8_0001_02_1.0_2.0__0.jpg"]


@pytest.fixture
def full_disk(tmp_path):
    """A folder on a 1 MiB tmpfs of its own: fill(), and it has no byte left."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a small file system to fill cannot be mounted here (needs root): {mounted.stderr.strip()}")

    def fill():
        with open(folder / "filler", "wb", buffering=0) as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
    try:
        yield folder, fill
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@needs_caffe
@pytest.mark.parametrize("program, extra", [
    ("act_max.py", ["--unit", "1", "--save_raw"]),
    ("sampling_class.py", ["--units", "1", "--save_every", "1", "--write_labels"]),
])
def test_a_full_disk_while_saving_is_one_line_and_the_earlier_files_stay(flags, full_disk, repo, snapshot, program,
                                                                          extra):
    nets, data = flags
    out, fill = full_disk
    argv = [sys.executable, str(repo / program), *nets, *(data if program == "sampling_class.py" else []), *extra,
            "--n_iters", "2", "--output_dir", str(out)]
    env = dict(os.environ, PREFINPUT_OFFLINE="1")
    earlier = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert earlier.returncode == 0, earlier.stderr[-3000:]
    before = snapshot(out)
    fill()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-3000:]
    assert re.fullmatch(rf"{program}: error: {out}/\S+: no space left on the device while writing it \(the earlier "
                        rf"files are kept\); free some space or write elsewhere\n", done.stderr), done.stderr
    after = snapshot(out)
    del after["filler"]
    assert after == before and not part_files(out)
