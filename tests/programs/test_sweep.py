"""sweep.py on the tiny nets: a LocalCluster of two worker processes, and a
scheduler and two workers started as separate processes on 127.0.0.1 (one
killed mid-sweep); each point's arrays against act_max.py run alone; the
resumable sweep.jsonl; one-line mistakes and recorded failures."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness import grid

TIMEOUT = 300  # generous: the machine may be busy


def tiny_flags(tiny):
    return ["--net_definition", tiny["classifier"][0], "--net_weights", tiny["classifier"][1],
            "--generator_definition", tiny["generator"][0], "--generator_weights", tiny["generator"][1], "--offline"]


def records(folder):
    return [json.loads(line) for line in (Path(folder) / "sweep.jsonl").read_text().splitlines()]


def sweep_process(repo, argv, **kwargs):
    return subprocess.run([sys.executable, str(repo / "sweep.py"), *argv], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=repo, **kwargs)


# --- the grid, without a cluster --------------------------------------------------

def test_flags_split_into_values_and_units_expand_ranges_in_order():
    assert grid.split_flags(["--unit", "1-3", "7", "--seed=2", "--L2", "0.99", "-1", "--save_raw"]) == [
        ("unit", ["1-3", "7"]), ("seed", ["2"]), ("L2", ["0.99", "-1"]), ("save_raw", [])]
    assert grid.expand_units(["1-3", "7", "2", "all"], size=2) == ["1", "2", "3", "7", "0"]


def test_points_in_one_folder_unless_a_flag_the_names_leave_out_is_swept():
    combo = [("clip", ["1"]), ("seed", ["0"]), ("init_file", ["/a/b.jpg"])]
    assert grid.folder_of(combo, {"clip", "init_file"}) == "clip=1,init_file=%2Fa%2Fb.jpg"
    assert grid.folder_of(combo, set()) == ""


def test_a_line_torn_by_a_crash_is_dropped_before_the_next_append(tmp_path):
    (tmp_path / "sweep.jsonl").write_text(json.dumps({"params": {"unit": "1"}, "error": "Diverged"}) + '\n{"params": {"un')
    assert list(grid.read_records(tmp_path)) == [grid.key_of({"unit": "1"})]
    grid.append(tmp_path, {"params": {"unit": "2"}})
    assert [entry["params"]["unit"] for entry in records(tmp_path)] == ["1", "2"]


@pytest.mark.parametrize("argv, message", [
    (["act_max", "--unit", "0", "--n_iters", "0"], "--n_iters must be at least 1"),
    (["act_max", "--unit", "12"], "fc8 has units 0..9"),
    (["act_max", "--unit", "5-2"], "a range runs from its smaller end"),
    (["act_max", "--unit", "0", "--debug", "1"], "--debug 1 would write"),
    (["act_max", "--unit", "0", "--workers", "0"], "--workers 0"),
    (["nosuch", "--unit", "0"], "not a program sweep.py runs"),
    (["act_max", "--unit", "0", "--workers", str(len(os.sched_getaffinity(0)) + 1)],
     f"this machine runs {len(os.sched_getaffinity(0))} one-thread workers at once"),
    (["act_max", "--unit", "0", "--scheduler", "nonsense"], "--scheduler nonsense: not a scheduler's address"),
    (["act_max", "--unit", "0", "--scheduler", "tpc://127.0.0.1:8786"], "tpc:// is not one of"),
    (["act_max", "--unit", "0", "--scheduler", "tcp://127.0.0.1:port"], "not a scheduler's address"),
    (["act_max", "--unit", "0", "--scheduler", "tcp://127.0.0.1:87860"], "port 87860 is not 1..65535"),
    (["act_max", "--unit", "0", "--scheduler", ""], "--scheduler : not a scheduler's address"),
])
def test_a_mistake_is_one_line_before_any_work(tiny, tmp_path, capsys, argv, message):
    import sweep
    from prefinput.cli import run
    with pytest.raises(SystemExit) as stop:
        run(sweep.main, argv + tiny_flags(tiny) + ["--output_dir", str(tmp_path / "out")])
    assert stop.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and message in stderr, stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("weights, message", [
    ("nonesuch.caffemodel", "nonesuch.caffemodel not found, and it is not a file that nets/download.sh provides"),
    ("pipe", "pipe is a FIFO (named pipe), not a file; give the file itself"),
])
def test_a_missing_or_unreadable_model_file_is_one_line(tiny, tmp_path, capsys, weights, message):
    import sweep
    from prefinput.cli import run
    if weights == "pipe":
        os.mkfifo(tmp_path / weights)
    flags = tiny_flags(tiny)
    flags[flags.index("--net_weights") + 1] = str(tmp_path / weights)
    with pytest.raises(SystemExit) as stop:
        run(sweep.main, ["act_max", "--unit", "0", *flags, "--output_dir", str(tmp_path / "out")])
    assert stop.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and message in stderr, stderr


def make_record(kind, path):
    """OUTPUT_DIR/sweep.jsonl as something that is not a sweep's record."""
    lines = {"wrong types": '{"params": {"unit": "0"}, "files": "fc8.jpg", "sha256": "ab"}\n',
             "files and digests differ": '{"params": {"unit": "0"}, "files": ["a.jpg"], "sha256": []}\n'}
    if kind == "a folder":
        path.mkdir()
    elif kind == "a FIFO":
        os.mkfifo(path)
    else:
        path.write_text(lines[kind])


@pytest.mark.parametrize("kind, message", [
    ("a folder", "sweep.jsonl is a folder, not a file; move it away"),
    ("a FIFO", "sweep.jsonl is a FIFO (named pipe), not a file; move it away"),
    ("wrong types", "sweep.jsonl: not a sweep record: b'{\"params\""),
    ("files and digests differ", "not a sweep record"),
])
def test_a_record_that_is_no_record_is_one_line_and_stays(tiny, tmp_path, capsys, kind, message):
    import sweep
    from prefinput.cli import run
    out = tmp_path / "out"
    out.mkdir()
    make_record(kind, out / "sweep.jsonl")
    with pytest.raises(SystemExit) as stop:
        run(sweep.main, ["act_max", "--unit", "0", *tiny_flags(tiny), "--output_dir", str(out), "--workers", "1"])
    assert stop.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and message in stderr, stderr
    assert os.listdir(out) == ["sweep.jsonl"]


def test_a_worker_loads_a_set_of_nets_once_and_again_when_a_file_changes(tiny, tmp_path):
    import shutil
    import sweep
    weights = tmp_path / "classifier.caffemodel"
    shutil.copy(tiny["classifier"][1], weights)
    flags = tiny_flags(tiny)
    flags[flags.index("--net_weights") + 1] = str(weights)
    import act_max
    first = sweep.nets_for(act_max, act_max.parse_args(["--unit", "1", *flags]))
    assert sweep.nets_for(act_max, act_max.parse_args(["--unit", "2", "--seed", "3", *flags])) is first
    os.utime(weights, ns=(0, 0))
    assert sweep.nets_for(act_max, act_max.parse_args(["--unit", "1", *flags])) is not first


def test_a_worker_loads_the_nets_again_for_a_sum_naming_another_point_of_an_in_place_chain(tiny):
    """conv3 and relu3 write one blob in place; named in --objective each is its
    own point of the net (an out-of-place patch), so a worker must not reuse
    the nets loaded for the one to read the other."""
    import act_max
    import sweep
    flags = tiny_flags(tiny)
    conv = sweep.nets_for(act_max, act_max.parse_args(["--objective", "conv3:1", *flags]))
    relu = sweep.nets_for(act_max, act_max.parse_args(["--objective", "relu3:1", *flags]))
    assert relu is not conv
    assert "relu3" in relu.classifier.blobs and "relu3" not in conv.classifier.blobs
    assert sweep.nets_for(act_max, act_max.parse_args(["--objective", "conv3:1", *flags])) is conv


# --- a LocalCluster of two workers ----------------------------------------------------

GRID = ["--unit", "0-2", "--clip", "0", "1", "--seed", "0", "1", "--n_iters", "5", "--save_raw"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory, tiny):
    """The GRID swept by sweep.main in this process on two local workers: (folder, status)."""
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1" or os.environ.get("OPENBLAS_CORETYPE") != "Haswell":
        pytest.skip("bit comparisons need OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1; run `make test`")
    import sweep
    folder = tmp_path_factory.mktemp("sweep")
    status = sweep.main(["act_max", *GRID, *tiny_flags(tiny), "--output_dir", str(folder), "--workers", "2",
                         "--quiet"])
    return folder, status


def test_every_point_is_recorded_once_with_its_files(swept):
    folder, status = swept
    assert status == 0
    entries = records(folder)
    assert sorted((e["params"]["clip"], e["params"]["seed"], e["params"]["unit"]) for e in entries) == sorted(
        (clip, seed, unit) for clip in "01" for seed in "01" for unit in "012")
    for entry in entries:
        assert entry["files"] == [f"clip={entry['params']['clip']}/fc8_000{entry['params']['unit']}_05_1.0_2.0__"
                                  f"{entry['params']['seed']}.{ext}" for ext in ("jpg", "npz")]
        assert entry["openblas_threads"] == 1 and entry["worker"].startswith("tcp://127.0.0.1:")
        assert isinstance(entry["activation"], float) and entry["seconds"] > 0


def test_each_points_arrays_equal_act_max_run_alone(swept, repo, tiny, tmp_path, pinned_environment):
    folder, _ = swept
    for clip in "01":
        for seed in "01":
            alone = tmp_path / f"{clip}{seed}"
            subprocess.run([sys.executable, str(repo / "act_max.py"), "--unit", "0", "1", "2", "--clip", clip,
                            "--seed", seed, "--n_iters", "5", "--save_raw", *tiny_flags(tiny),
                            "--output_dir", str(alone)], check=True, capture_output=True, timeout=TIMEOUT)
            for unit in "012":
                name = f"fc8_000{unit}_05_1.0_2.0__{seed}.npz"
                with np.load(alone / name) as expected, np.load(folder / f"clip={clip}" / name) as got:
                    for key in ("image", "code"):
                        assert np.array_equal(expected[key], got[key]), (clip, seed, unit, key)


def test_a_rerun_computes_nothing_and_a_changed_file_is_made_again(swept, repo, tiny):
    folder, _ = swept
    before = (folder / "sweep.jsonl").read_bytes()
    stamps = {path: path.stat().st_mtime_ns for path in folder.rglob("fc8_*")}
    done = sweep_process(repo, ["act_max", *GRID, *tiny_flags(tiny), "--output_dir", str(folder), "--quiet"])
    assert done.returncode == 0, done.stderr
    assert "12 points, 12 done before, 0 to compute" in done.stderr
    assert (folder / "sweep.jsonl").read_bytes() == before
    assert {path: path.stat().st_mtime_ns for path in folder.rglob("fc8_*")} == stamps

    changed = folder / "clip=1" / "fc8_0002_05_1.0_2.0__1.jpg"
    original = changed.read_bytes()
    changed.write_bytes(b"not the image")
    done = sweep_process(repo, ["act_max", *GRID, *tiny_flags(tiny), "--output_dir", str(folder), "--quiet",
                                "--workers", "1"])
    assert done.returncode == 0, done.stderr
    assert "12 points, 11 done before, 1 to compute" in done.stderr
    assert changed.read_bytes() == original
    assert len(records(folder)) == 13


def test_a_failing_point_is_recorded_in_one_line_and_the_others_finish_on_one_thread(repo, tiny, tmp_path):
    """(Started without OPENBLAS_NUM_THREADS: the workers still get one thread.)"""
    short = tmp_path / "short_bound.txt"
    short.write_text("1 2 3\n")
    out = tmp_path / "out"
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    done = sweep_process(repo, ["act_max", "--unit", "0", "1", "--bound", tiny["fc6_bound"], str(short),
                                "--n_iters", "3", *tiny_flags(tiny), "--output_dir", str(out), "--workers", "2",
                                "--quiet"], env=env)
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if "failed --bound" in line]
    assert len(failures) == 2 and all("cannot read 64 bounds" in line for line in failures), done.stderr
    entries = records(out)
    assert sorted(("error" in e, e["params"]["bound"] == str(short)) for e in entries) == [
        (False, False), (False, False), (True, True), (True, True)]
    assert [e["openblas_threads"] for e in entries if "error" not in e] == [1, 1]
    assert "2 of 4 points done, 2 failed" in done.stderr


def test_sampling_class_points_each_have_a_folder_and_equal_the_program_alone(repo, tiny, shared_path, tmp_path,
                                                                               pinned_environment):
    import sweep
    misc = shared_path("reference", "ppgn", "misc")
    flags = ["--net_definition", tiny["classifier"][0], "--net_weights", tiny["classifier"][1],
             "--encoder_definition", tiny["classifier"][0], "--encoder_weights", tiny["classifier"][1],
             "--generator_definition", tiny["generator"][0], "--generator_weights", tiny["generator"][1],
             "--synset_file", str(misc / "synset_words.txt"), "--mean_file_mat", str(misc / "ilsvrc_2012_mean.mat"),
             "--n_iters", "3", "--save_raw", "--offline"]
    out = tmp_path / "out"
    assert sweep.main(["sampling_class", "--units", "1", "3_4", "--seed", "0", "1", *flags, "--output_dir", str(out),
                       "--workers", "2", "--quiet"]) == 0
    entries = records(out)
    assert sorted(e["files"][0].split("/")[0] for e in entries) == [
        "seed=0,units=1", "seed=0,units=3_4", "seed=1,units=1", "seed=1,units=3_4"]
    point = next(e for e in entries if e["params"]["units"] == "3_4" and e["params"]["seed"] == "1")
    alone = tmp_path / "alone"
    subprocess.run([sys.executable, str(repo / "sampling_class.py"), "--units", "3_4", "--seed", "1", *flags,
                    "--output_dir", str(alone)], check=True, capture_output=True, timeout=TIMEOUT)
    made = sorted(str(path.relative_to(alone)) for path in alone.rglob("*") if path.is_file())
    assert sorted(name.split("/", 1)[1] for name in point["files"]) == made  # the same files: image, samples, arrays
    assert all(name.startswith("seed=1,units=3_4/") for name in point["files"])
    with np.load(alone / point["files"][-1].split("/", 1)[1]) as expected, np.load(out / point["files"][-1]) as got:
        for key in ("image", "samples"):
            assert np.array_equal(expected[key], got[key]), key


# --- a scheduler and workers of their own ------------------------------------------------

def start(argv, log, env):
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


@contextlib.contextmanager
def own_cluster(repo, folder, workers):
    """A scheduler and `workers` one-thread workers, each a process of its own
    on 127.0.0.1: (address, scheduler process, worker processes); all stopped after."""
    dask = str(Path(sys.executable).parent / "dask")
    env = dict(os.environ, PYTHONPATH=str(repo), OPENBLAS_NUM_THREADS="1")
    scheduler_file = folder / "scheduler.json"
    processes = []
    with open(folder / "cluster.log", "w") as log:
        try:
            processes.append(start([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                    "--scheduler-file", str(scheduler_file)], log, env))
            deadline = time.monotonic() + TIMEOUT
            while not scheduler_file.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            address = json.loads(scheduler_file.read_text())["address"]
            processes += [start([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                 "--host", "127.0.0.1"], log, env) for _ in range(workers)]
            yield address, processes[0], processes[1:]
        finally:
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)


def sweep_until_a_point_is_done(repo, argv, out):
    """sweep.py started with `argv`, once the first point is recorded in `out`."""
    sweep = subprocess.Popen([sys.executable, str(repo / "sweep.py"), *argv, "--output_dir", str(out), "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=repo)
    record = out / "sweep.jsonl"
    while not (record.exists() and record.read_text().strip()) and sweep.poll() is None:
        time.sleep(0.05)
    return sweep


def test_a_separate_cluster_finishes_every_point_once_when_a_worker_dies(repo, tiny, tmp_path):
    out = tmp_path / "out"
    with own_cluster(repo, tmp_path, 2) as (address, _, workers):
        sweep = sweep_until_a_point_is_done(repo, ["act_max", "--unit", "0-9", "--seed", "0", "1", "--n_iters", "300",
                                                   *tiny_flags(tiny), "--scheduler", address], out)
        killed_at = len(records(out))
        workers[0].kill()
        _, stderr = sweep.communicate(timeout=TIMEOUT)
    assert killed_at < 20, "the sweep had finished before the worker was killed"
    assert sweep.returncode == 0, stderr
    entries = records(out)
    assert sorted((e["params"]["seed"], int(e["params"]["unit"])) for e in entries) == sorted(
        (seed, unit) for seed in "01" for unit in range(10))
    assert all("error" not in e and (out / e["files"][0]).is_file() for e in entries)


def tasks_on(address):
    """How many tasks the scheduler at `address` holds now."""
    from distributed import Client
    with Client(address, timeout=60) as client:
        return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def test_a_sweep_of_10000_points_keeps_a_few_tasks_out_and_sigterm_leaves_none(repo, tiny, tmp_path):
    """Stopping cancels what the scheduler holds: a few chunks, not the whole
    grid (10,000 tasks took the scheduler minutes to drop at 100,000 points)."""
    out = tmp_path / "out"
    with own_cluster(repo, tmp_path, 1) as (address, _, _):
        sweep = sweep_until_a_point_is_done(repo, ["act_max", "--unit", "0-9", "--seed", *map(str, range(1000)),
                                                   "--n_iters", "20", *tiny_flags(tiny), "--scheduler", address], out)
        held = tasks_on(address)
        sweep.send_signal(signal.SIGTERM)
        _, stderr = sweep.communicate(timeout=TIMEOUT)
        assert sweep.returncode == 143, stderr
        assert held <= 8, f"{held} tasks on the scheduler for one worker"
        assert tasks_on(address) == 0
    assert "sweep.py: 10000 points, 0 done before, 10000 to compute" in stderr


def test_a_scheduler_that_dies_mid_sweep_is_one_line_and_the_finished_points_stay(repo, tiny, tmp_path):
    out = tmp_path / "out"
    with own_cluster(repo, tmp_path, 1) as (address, scheduler, _):
        sweep = sweep_until_a_point_is_done(repo, ["act_max", "--unit", "0-9", "--n_iters", "300",
                                                   *tiny_flags(tiny), "--scheduler", address], out)
        scheduler.kill()
        _, stderr = sweep.communicate(timeout=TIMEOUT)
    kept = [e for e in records(out) if "error" not in e]
    assert sweep.returncode == 1, stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("sweep.py: 10 points")]
    assert len(lines) == 1, stderr
    [line] = lines
    assert line.startswith(f"sweep.py: error: the scheduler {address} went away mid-sweep"), stderr
    assert f"{len(kept)} of 10 points are done, kept in {out / 'sweep.jsonl'}" in line
    assert 1 <= len(kept) < 10 and all((out / e["files"][0]).is_file() for e in kept)
    assert len(records(out)) == len(kept), "a point the scheduler took away was recorded as failed"


# --- the gallery, in a real headless browser ------------------------------------------------

def dump_dom(page, fragment, tmp_path):
    """The page's DOM after it loaded, in headless Chromium (no network: a local file)."""
    chromium = next((path for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(path)),
                    None)
    if chromium is None:
        pytest.skip("chromium is not installed: docker/install_deps.sh installs it")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                           "--allow-file-access-from-files", "--dump-dom", f"{page.as_uri()}#{fragment}"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def figures(dom):
    """(hidden, params) of each thumbnail in a dumped DOM."""
    import html
    import re
    return [("hidden" in classes, json.loads(html.unescape(params)))
            for classes, params in re.findall(r'<figure class="([^"]*)" data-params="([^"]*)"', dom)]


def test_the_gallery_shows_every_image_and_a_filter_hides_the_others(swept, tmp_path):
    folder, _ = swept
    dom = dump_dom(folder / "index.html", "clip=1&sort=activation", tmp_path)
    import re
    images, loaded = re.search(r'<body data-images="(\d+)" data-loaded="(\d+)"', dom).groups()
    assert images == loaded == "12"
    shown = figures(dom)
    assert len(shown) == 12 and all(hidden == (params["clip"] != "1") for hidden, params in shown)
    assert dom.count('<section class="unit">') == 3
    assert "act " in dom and "clip=1 seed=0" in dom  # each caption: activation and parameters


def test_the_gallery_lays_two_swept_params_out_as_rows_and_columns(swept, tmp_path):
    folder, _ = swept
    dom = dump_dom(folder / "index.html", "rows=clip&columns=seed", tmp_path)
    assert dom.count('<table class="grid">') == 3
    first_table = dom[dom.index('<table class="grid">'):dom.index("</table>")]
    rows = first_table.split("<tr>")[1:]
    assert len(rows) == 3 and all(row.count("<figure") == 2 for row in rows[1:])  # header, clip 0, clip 1


def test_the_contact_sheet_holds_every_image(swept):
    folder, _ = swept
    from PIL import Image
    with Image.open(folder / "clip=0" / "fc8_0000_05_1.0_2.0__0.jpg") as image, \
            Image.open(folder / "contact_sheet.jpg") as sheet:
        width, height = image.size
        assert sheet.size == (10 * (width + 2), 2 * (height + 2))  # the 12 images, 10 a row, a 1-pixel border


def test_sigterm_stops_the_sweep_and_keeps_every_finished_point(repo, tiny, tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, str(repo / "sweep.py"), "act_max", "--unit", "0-9", "--seed", "0", "1",
            "--n_iters", "300", *tiny_flags(tiny), "--output_dir", str(out), "--workers", "1", "--quiet"]
    sweep = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=repo)
    record = out / "sweep.jsonl"
    while not (record.exists() and record.read_text().strip()) and sweep.poll() is None:
        time.sleep(0.05)
    sweep.send_signal(signal.SIGTERM)
    _, stderr = sweep.communicate(timeout=TIMEOUT)
    assert sweep.returncode == 143, stderr
    assert "stopped; the finished points are in" in stderr
    kept = records(out)
    assert 1 <= len(kept) < 20 and all((out / e["files"][0]).is_file() for e in kept)

    done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert f"20 points, {len(kept)} done before, {20 - len(kept)} to compute" in done.stderr


def test_objectives_are_sweep_values_named_and_labelled_by_their_sum(tiny, tmp_path, shared_path, monkeypatch):
    import sweep
    out = tmp_path / "out"
    sums = ["fc8:1 + fc8:2", "fc8:3 - 0.5*conv5:1@2,2"]
    monkeypatch.setenv("SYNSET_FILE", str(shared_path("reference", "ppgn", "misc", "synset_words.txt")))
    assert sweep.main(["act_max", "--objective", *sums, "--seed", "0", "1", "--n_iters", "2", *tiny_flags(tiny),
                       "--output_dir", str(out), "--workers", "1", "--quiet"]) == 0
    entries = records(out)
    assert sorted((e["params"]["objective"], e["params"]["seed"]) for e in entries) == sorted(
        (text, seed) for text in sums for seed in "01")
    assert sorted(e["files"][0] for e in entries) == [
        "fc8_0001+fc8_0002_02_1.0_2.0__0.jpg", "fc8_0001+fc8_0002_02_1.0_2.0__1.jpg",
        "fc8_0003-0.5xconv5_0001@2,2_02_1.0_2.0__0.jpg", "fc8_0003-0.5xconv5_0001@2,2_02_1.0_2.0__1.jpg"]
    page = (out / "index.html").read_text()
    assert "fc8:1 + fc8:2 (goldfish + great white)" in page and "fc8:3 - 0.5*conv5:1@2,2 (tiger shark" in page


def test_cnn_vis_neurons_each_have_a_folder_and_equal_the_program_alone(repo, tiny, shared_path, tmp_path,
                                                                        pinned_environment):
    import sweep
    mean = shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")
    flags = ["--deploy_txt", tiny["classifier"][0], "--caffe_model", tiny["classifier"][1], "--mean_image", str(mean),
             "--gpu", "-1", "--target_layer", "conv3", "--initial_size", "30x30", "--num_steps", "2",
             "--iter_behavior", "print", "--save_raw"]
    out = tmp_path / "out"
    assert sweep.main(["cnn_vis", "--target_neuron", "1", "3", "--seed", "0", "1", *flags, "--output_dir", str(out),
                       "--workers", "2", "--quiet"]) == 0
    entries = records(out)
    assert sorted(e["files"] for e in entries) == [[f"seed={seed},target_neuron={neuron}/out.{ext}" for ext in
                                                    ("png", "npz")] for seed in "01" for neuron in "13"]
    assert '"label": "conv3 3"' in (out / "index.html").read_text()  # the gallery groups by neuron
    alone = tmp_path / "alone.png"
    subprocess.run([sys.executable, str(repo / "cnn_vis.py"), "--image_type", "amplify_neuron", "--target_neuron", "3",
                    "--seed", "1", *flags, "--output_file", str(alone)], check=True, capture_output=True,
                   timeout=TIMEOUT)
    with np.load(alone.with_suffix(".npz")) as expected, np.load(out / "seed=1,target_neuron=3" / "out.npz") as got:
        for key in ("image", "image_uint8"):
            assert np.array_equal(expected[key], got[key]), key


def test_caption_sentences_each_have_a_folder_and_equal_the_program_alone(repo, tiny, lrcn, tmp_path,
                                                                          pinned_environment):
    import sweep
    paths = dict(lrcn, encoder_definition=tiny["classifier"][0], encoder_weights=tiny["classifier"][1],
                 generator_definition=tiny["generator"][0], generator_weights=tiny["generator"][1])
    flags = [item for key, value in paths.items() for item in (f"--{key}", value)] + [
        "--n_iters", "3", "--save_every", "1", "--save_raw", "--offline"]
    out = tmp_path / "out"
    assert sweep.main(["sampling_caption", "--sentence", "a_red_car", "a_red_dog", "--seed", "0", *flags,
                       "--output_dir", str(out), "--workers", "2", "--quiet"]) == 0
    entries = records(out)
    assert sorted(e["files"][0].split("/")[0] for e in entries) == ["sentence=a_red_car", "sentence=a_red_dog"]
    assert '"label": "a red dog"' in (out / "index.html").read_text()  # the gallery groups by sentence
    point = next(e for e in entries if e["params"]["sentence"] == "a_red_dog")
    alone = tmp_path / "alone"
    subprocess.run([sys.executable, str(repo / "sampling_caption.py"), "--sentence", "a_red_dog", "--seed", "0",
                    *flags, "--output_dir", str(alone)], check=True, capture_output=True, timeout=TIMEOUT)
    made = sorted(str(path.relative_to(alone)) for path in alone.rglob("*") if path.is_file())
    assert sorted(name.split("/", 1)[1] for name in point["files"]) == made  # the image, the samples, the arrays
    with np.load(alone / point["files"][-1].split("/", 1)[1]) as expected, np.load(out / point["files"][-1]) as got:
        for key in ("image", "samples"):
            assert np.array_equal(expected[key], got[key]), key
