"""docker/build_caffe.sh: refuses unverified source, keys its cache by its
inputs, and reuses a finished build."""
import shutil
import subprocess
import time

import pytest

ORIG = "caffe_1.0.0+git20180821.99bd997.orig.tar.gz"
DEBIAN = "caffe_1.0.0+git20180821.99bd997-8.debian.tar.xz"


@pytest.fixture
def build(repo):
    """build(*args, env=None, script=the repository's docker/build_caffe.sh): run it."""
    def build(*args, env=None, script=repo / "docker" / "build_caffe.sh"):
        return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=300)
    return build


def test_tampered_source_is_refused_and_not_built(build, tmp_path, monkeypatch):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / ORIG).write_bytes(b"not the caffe source")
    (sources / DEBIAN).write_bytes(b"not the debian patches")
    cache = tmp_path / "cache"
    prefix = tmp_path / "prefix"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "CAFFE_SOURCE_DIR": str(sources), "CAFFE_CACHE_DIR": str(cache)}
    result = build("--prefix", str(prefix), env=env)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and f"checksum mismatch for {ORIG}" in error[0] and "refusing to build" in error[0]
    assert not list(cache.glob("*/src/*")), "nothing may be unpacked from a tampered archive"
    assert not list(cache.glob("*/DONE")) and not prefix.exists()


def test_github_source_without_the_pinned_commit_is_refused(build, tmp_path):
    mirror = tmp_path / "caffe"
    subprocess.run(["git", "init", "-q", str(mirror)], check=True)
    subprocess.run(["git", "-C", str(mirror), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "not caffe"], check=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CAFFE_GITHUB_REPO": str(mirror),
           "CAFFE_CACHE_DIR": str(tmp_path / "cache")}
    result = build("--source", "github", "--prefix", str(tmp_path / "prefix"), env=env)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"is not in {mirror}; refusing to build")
    assert not list((tmp_path / "cache").glob("*/src/*")) and not (tmp_path / "prefix").exists()


def test_unknown_option_is_one_line_error(build):
    result = build("--bogus")
    assert result.returncode == 2
    assert result.stderr.strip() == "build_caffe.sh: unknown option '--bogus' (see --help)"


def test_unknown_blas_is_one_line_error(build):
    result = build("--blas", "bogus")
    assert result.returncode == 2
    assert result.stderr.strip() == ("build_caffe.sh: --blas must be one of openblas, scipy-openblas, blis, mkl, "
                                     "not 'bogus'")
    assert "--blas NAME" in build("--help").stdout


def test_install_deps_knows_the_same_blases(repo):
    result = subprocess.run(["bash", str(repo / "docker" / "install_deps.sh"), "--blas", "bogus"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("install_deps.sh: --blas must be one of openblas, scipy-openblas, blis, mkl, "
                                     "not 'bogus'")


def test_cache_key_follows_the_blas(build, repo, tmp_path):
    keys = {blas: build("--print-key", "--blas", blas).stdout.strip()
            for blas in ("openblas", "scipy-openblas", "blis", "mkl")}
    assert keys["openblas"] == build("--print-key").stdout.strip(), "the default BLAS keeps the default key"
    assert len(set(keys.values())) == 4, keys
    assert keys["mkl"] == build("--print-key", "--blas", "mkl").stdout.strip(), "same inputs, same key"
    copy = tmp_path / "docker"
    shutil.copytree(repo / "docker", copy)
    lock = copy / "blas" / "mkl.txt"
    lock.write_text(lock.read_text().replace("mkl==2026.2.1", "mkl==2026.2.0", 1))
    assert keys["mkl"] != build("--print-key", "--blas", "mkl", script=copy / "build_caffe.sh").stdout.strip(), \
        "another pin of the wheels, another key"


def test_tampered_blas_wheel_is_refused_and_not_built(build, repo, tmp_path):
    lock = (repo / "docker" / "blas" / "scipy-openblas.txt").read_text()
    name, version = next(line.split()[0] for line in lock.splitlines() if not line.startswith("#")).split("==")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / f"{name.replace('-', '_')}-{version}-py3-none-manylinux_2_28_x86_64.whl").write_bytes(b"not a wheel")
    cache, prefix = tmp_path / "cache", tmp_path / "prefix"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CAFFE_SOURCE_DIR": str(sources),
           "CAFFE_CACHE_DIR": str(cache)}
    result = build("--blas", "scipy-openblas", "--prefix", str(prefix), env=env)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and "do not match their sha256" in error[0] and "refusing to build" in error[0], error
    assert not list(cache.glob("*/blas")) and not list(cache.glob("*/src")), "nothing may be unpacked"
    assert not list(cache.glob("*/DONE")) and not prefix.exists()


def test_cache_key_follows_patches_and_flags(build, repo, tmp_path):
    copy = tmp_path / "docker"
    shutil.copytree(repo / "docker", copy)
    key = build("--print-key", script=copy / "build_caffe.sh").stdout.strip()
    assert key == build("--print-key").stdout.strip(), "same inputs, same key"
    assert key != build("--print-key", "--cuda", script=copy / "build_caffe.sh").stdout.strip()
    patch = next(copy.glob("patches/*.patch"))
    patch.write_text(patch.read_text() + "\n")
    assert key != build("--print-key", script=copy / "build_caffe.sh").stdout.strip()


def test_second_run_is_a_cache_hit(build, repo, tmp_path):
    info = repo / "build" / "caffe" / "BUILD_INFO"
    if not info.exists():
        pytest.skip("no finished Caffe build to reuse: run `make setup` first")
    key = dict(line.split("=", 1) for line in info.read_text().split())["key"]
    if key != build("--print-key").stdout.strip():
        pytest.skip("build/caffe is from other inputs than the current ones: run `make setup`")
    start = time.monotonic()
    result = build("--prefix", str(tmp_path / "prefix"))
    assert result.returncode == 0, result.stderr
    assert "cache hit" in result.stdout and time.monotonic() - start < 60
    assert (tmp_path / "prefix" / "lib" / "libcaffe.so").exists()
