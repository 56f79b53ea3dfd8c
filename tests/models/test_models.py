"""The registry: complete, consistent, and able to fetch and verify every
reference file of ../shared/reference/MANIFEST.tsv from a loopback mirror."""
import csv
import dataclasses
import os
import subprocess
import sys

import pytest

import settings
from prefinput.digests import file_digest
from prefinput.errors import UserError
from prefinput.registry import catalogue, command, fetching

ALL_FILES = [(m, f) for m in catalogue.MODELS for f in m.files]


@pytest.fixture(scope="module")
def reference(shared):
    """../shared/reference, whether or not it is there."""
    return shared / "reference"


def manifest(reference):
    if not (reference / "MANIFEST.tsv").is_file():
        pytest.skip(f"no reference files at {reference} (../shared is only on the project's machines)")
    with open(reference / "MANIFEST.tsv") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    header = [rows[0][0].lstrip("# "), *rows[0][1:]]
    return [dict(zip(header, row)) for row in rows[1:] if row]


def upstream_url(row):
    return f"{catalogue.RAW}/{row['upstream_repo']}/{row['commit']}/{row['path_upstream']}"


def registry_file(url):
    return next(f for _m, f in ALL_FILES if url in f.urls)


@pytest.fixture(scope="module")
def reference_mirror(reference, loopback):
    manifest(reference)
    server = loopback(reference)
    yield server
    server.close()


def test_every_manifest_entry_is_in_the_registry_with_its_checksum_and_size(reference):
    known = {url: f for _m, f in ALL_FILES for url in f.urls}
    for row in manifest(reference):
        f = known.get(upstream_url(row))
        assert f is not None, f"registry lacks {row['path_here']} ({upstream_url(row)})"
        assert (f.checksums, f.size) == (("sha256:" + row["sha256"],), int(row["bytes"])), row["path_here"]


def test_every_manifest_entry_is_fetched_and_verified_from_loopback(reference_mirror, reference, tmp_path,
                                                                    monkeypatch):
    """Each reference file through each of its upstream addresses, redirected
    to a loopback server of ../shared/reference."""
    monkeypatch.setenv("PREFINPUT_MIRROR", reference_mirror.url)
    rows = manifest(reference)
    for i, row in enumerate(rows):
        f = registry_file(upstream_url(row))
        only_this_url = dataclasses.replace(f, urls=(upstream_url(row),))
        root = str(tmp_path / str(i))
        fetched = fetching.fetch(catalogue.Model("ref", "", "", (only_this_url,)), root=root, progress=False)
        assert fetched == [os.path.join(root, f.dest)]
        assert file_digest(fetched[0]) == row["sha256"]
    assert len(reference_mirror.requests) == len(rows)


def test_a_folder_works_as_a_mirror(reference, tmp_path, monkeypatch):
    manifest(reference)
    monkeypatch.setenv("PREFINPUT_MIRROR", str(reference))
    act_range = catalogue.model("act_range")
    fetching.fetch(act_range, root=str(tmp_path), progress=False)
    assert {fetching.state(f, str(tmp_path)) for f in act_range.files} == {"ok"}


def test_data_models_fetch_whole_from_loopback_and_a_second_run_fetches_nothing(reference_mirror, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("PREFINPUT_MIRROR", reference_mirror.url)
    root = str(tmp_path)
    data = [m for m in catalogue.MODELS if all(f.checksums and f.urls and f.urls[0].startswith(catalogue.RAW)
                                               and not f.dest.endswith((".prototxt", ".protxt")) for f in m.files)]
    assert {m.name for m in data} == {"act_range", "misc", "mean", "images", "examples"}
    for m in data:
        fetching.fetch(m, root=root, progress=False)
    asked = len(reference_mirror.requests)
    for m in data:
        assert fetching.fetch(m, root=root, progress=False) == []
    assert len(reference_mirror.requests) == asked
    lines, incomplete = command.listing(root, data)
    assert [line.split()[0] for line in lines if line.startswith("  ")] == ["ok"] * sum(len(m.files) for m in data)
    assert incomplete == []


def test_settings_paths_are_all_provided_by_the_registry():
    root = os.path.abspath(settings.nets_dir)
    paths = {name: value for name, value in vars(settings).items()
             if isinstance(value, str) and value.startswith(root + os.sep) and not name.endswith("_dir")}
    assert paths, "settings.py names no file under nets_dir"
    missing = [name for name, path in paths.items() if catalogue.provider(path, root) is None]
    assert missing == []


def test_registry_entries_are_well_formed():
    dests = [f.dest for _m, f in ALL_FILES]
    assert len(dests) == len(set(dests)), "two registry files share a destination"
    assert len({m.name.lower() for m in catalogue.MODELS}) == len(catalogue.MODELS)
    for m, f in ALL_FILES:
        assert m.licence and m.about, m.name
        assert bool(f.urls) != bool(f.archive), f.dest
        assert bool(f.member) == bool(f.archive), f.dest
        assert not os.path.isabs(f.dest) and ".." not in f.dest.split("/"), f.dest
        for checksum in f.checksums:
            algorithm, _, hexdigest = checksum.partition(":")
            assert len(hexdigest) == {"sha256": 64, "sha1": 40}[algorithm], f.dest
        assert len({checksum.partition(":")[0] for checksum in f.checksums}) == len(f.checksums), f.dest


def test_every_prototxt_comes_from_a_pinned_commit_with_a_checksum():
    prototxts = [f for _m, f in ALL_FILES if f.dest.endswith(".prototxt")]
    assert len(prototxts) >= 14
    pinned = tuple(f"{catalogue.RAW}/{repo}/{commit}/" for repo, commit in catalogue.REPOS.values())
    for f in prototxts:
        assert f.checksums and f.urls and all(url.startswith(pinned) for url in f.urls), f.dest


def test_the_originals_download_scripts_hosts_are_all_there():
    urls = {url for _m, f in ALL_FILES for url in f.urls} | {
        url for _m, f in ALL_FILES if f.archive for url in f.archive.urls}
    for url in ["http://dl.caffe.berkeleyvision.org/bvlc_reference_caffenet.caffemodel",
                "http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel",
                "http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel",
                "http://places.csail.mit.edu/model/placesCNN.tar.gz",
                "https://lmb.informatik.uni-freiburg.de/resources/binaries/arxiv2016_alexnet_inversion_with_gans/"
                "release_deepsim_v0.zip",
                "http://s.anhnguyen.me/release_deepsim_v0.zip",
                "http://s.anhnguyen.me/181007__generator.caffemodel",
                "http://www.cs.uwyo.edu/~anguyen8/share/lrcn_caffenet_iter_110000.caffemodel",
                "http://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe/VGG_ILSVRC_19_layers.caffemodel"]:
        assert url in urls


def test_mirror_paths_follow_the_reference_layout(monkeypatch):
    url = catalogue.github("ppgn", "misc/vocabulary.txt")
    assert fetching.mirror_path(url) == "ppgn/misc/vocabulary.txt"
    assert fetching.mirror_path("http://dl.caffe.berkeleyvision.org/x.caffemodel") == "dl.caffe.berkeleyvision.org/x.caffemodel"
    monkeypatch.setenv("PREFINPUT_MIRROR", "http://127.0.0.1:9/m/")
    assert fetching.mirrored([url, url]) == ("http://127.0.0.1:9/m/ppgn/misc/vocabulary.txt",)


def test_model_names_are_case_insensitive_and_unknown_ones_listed():
    assert catalogue.model("PLACESCNN").name == "placesCNN"
    with pytest.raises(UserError, match="no model called 'resnet'; known: caffenet, "):
        catalogue.model("resnet")


def nets_download(repo, *args, env=None):
    return subprocess.run([str(repo / "nets" / "download.sh"), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable, **(env or {})}, timeout=60)


def test_download_sh_fetches_by_name_and_lists_present_missing_corrupt(reference_mirror, repo, tmp_path):
    env = {"NETS_DIR": str(tmp_path), "PREFINPUT_MIRROR": reference_mirror.url}
    done = nets_download(repo, "misc", "mean", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["misc: fetched 5 file(s)", "mean: fetched 2 file(s)"]
    with open(tmp_path / "data" / "misc" / "vocabulary.txt", "a") as f:
        f.write("tampered\n")
    listed = nets_download(repo, "--list", env=env)
    assert listed.returncode == 1, listed.stderr  # files are missing and corrupt
    states = {line.split()[-1]: line.split()[0] for line in listed.stdout.splitlines() if line.startswith("  ")}
    assert states["data/misc/synset_words.txt"] == "ok"
    assert states["data/misc/vocabulary.txt"] == "corrupt"
    assert states["caffenet/bvlc_reference_caffenet.caffemodel"] == "missing"


def test_download_sh_fetches_a_corrupt_file_again_keeping_the_bad_copy(reference_mirror, repo, tmp_path):
    env = {"NETS_DIR": str(tmp_path), "PREFINPUT_MIRROR": reference_mirror.url}
    assert nets_download(repo, "misc", env=env).returncode == 0
    vocabulary = tmp_path / "data" / "misc" / "vocabulary.txt"
    good = vocabulary.read_bytes()
    with open(vocabulary, "a") as f:
        f.write("tampered\n")
    done = nets_download(repo, "misc", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["misc: fetched 1 file(s)"]
    assert vocabulary.read_bytes() == good
    assert (tmp_path / "data" / "misc" / "vocabulary.txt.bad").read_bytes() == good + b"tampered\n"
    assert "data/misc/vocabulary.txt: checksum mismatch; kept aside as" in done.stderr


def test_download_sh_errors_are_one_line_with_status_2(repo, tmp_path):
    done = nets_download(repo, "resnet", env={"NETS_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no model called 'resnet'" in done.stderr


# --- the weights' mirrors and the command line's other ways -------------------

OMZ_WEIGHTS = {  # dest: (mirror, sha256 from the Open Model Zoo's model.yml files)
    "caffenet/bvlc_reference_caffenet.caffemodel": ("caffenet/bvlc_reference_caffenet.caffemodel",
                                                    "472d4a06035497b180636d8a82667129960371375bd10fcb6df5c6c7631f25e0"),
    "googlenet/bvlc_googlenet.caffemodel": ("googlenet-v1/bvlc_googlenet.caffemodel",
                                            "6f7101e3a2183738a7125a0c5021ba82a1feb4228c5ca0924d991b6daf6f6fad"),
    "alexnet/bvlc_alexnet.caffemodel": ("alexnet/bvlc_alexnet.caffemodel",
                                        "4bff209a9837298157915ef50a4831a59636a6ca1a6b8ebacd990c3a5f3053e0"),
    "vgg19/VGG_ILSVRC_19_layers.caffemodel": ("vgg19/VGG_ILSVRC_19_layers.caffemodel",
                                              "31b4c627c40c6ee151325f079b7ac557fddbd1f79af932888796127a4f4f6954"),
}


def test_four_weights_have_the_open_model_zoo_as_mirror_and_its_sha256():
    mirrored = {f.dest: f for _m, f in ALL_FILES if f.mirrors}
    assert set(mirrored) == set(OMZ_WEIGHTS)
    for dest, (path, sha256) in OMZ_WEIGHTS.items():
        f = mirrored[dest]
        assert f.mirrors == (f"{catalogue.OMZ}/{path}",) and f"sha256:{sha256}" in f.checksums, dest
    assert mirrored["caffenet/bvlc_reference_caffenet.caffemodel"].checksums[0].startswith("sha1:")


def test_fetch_command_comes_from_the_environment_and_nets_dir_a_file_is_one_line(repo, tmp_path):
    (tmp_path / "a_file").write_text("")
    done = nets_download(repo, "--list", env={"NETS_DIR": str(tmp_path / "a_file"),
                                              "PREFINPUT_FETCH_COMMAND": "download.sh"})
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("download.sh: error: NETS_DIR ") and "which download.sh fills" in done.stderr
    shown = subprocess.run([sys.executable, "-c", "from prefinput.registry import catalogue; print(catalogue.FETCH_COMMAND)"],
                           capture_output=True, text=True, cwd=repo, timeout=60,
                           env={**os.environ, "PREFINPUT_FETCH_COMMAND": ""})
    assert shown.stdout == "nets/download.sh\n"
