"""The Docker images' build stage holds what it runs (issue 25), checked
without Docker: before the final stage's full `COPY .`, the build stage has
only the files its COPY lines name.  Each script a RUN starts must be there,
and the Python that make_venv.sh runs at the end (importing pycaffe and the
repository through the .pth file) runs here in exactly those files, as it
does in the image; a module the stage lacks fails, named."""
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = ["docker/Dockerfile", "docker/Dockerfile.cuda"]
CAFFE_PYTHON = Path(os.environ.get("CAFFE_PREFIX", ROOT / "build" / "caffe")) / "lib" / "python3" / "dist-packages"


def instructions(dockerfile):
    """The Dockerfile's (INSTRUCTION, arguments), comment lines dropped and
    continuation lines joined."""
    joined, current = [], ""
    for line in (ROOT / dockerfile).read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            word, _, rest = current.strip().partition(" ")
            joined.append((word.upper(), rest.strip()))
        current = ""
    return joined


def build_stage(dockerfile):
    """The instructions of the stage named builder, after its FROM."""
    steps = instructions(dockerfile)
    start = next(i for i, (word, rest) in enumerate(steps) if word == "FROM" and rest.endswith(" AS builder"))
    end = next((i for i in range(start + 1, len(steps)) if steps[i][0] == "FROM"), len(steps))
    return steps[start + 1:end]


def ignored(path):
    """Whether .dockerignore keeps `path` (relative) out of the build context."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    verdict = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").replace("**/", "")
        if any(fnmatch.fnmatch(part, pattern) for part in [path, *Path(path).parts]):
            verdict = not keep
    return verdict


def copy_into(layout, arguments):
    """What `COPY SOURCE... DEST` puts in the stage's WORKDIR, laid out in `layout`."""
    *sources, dest = arguments.split()
    assert not any(source.startswith("--") for source in sources), f"COPY {arguments}: an option this test cannot read"
    for source in sources:
        for path in sorted(ROOT.glob(source.rstrip("/"))):
            target = layout / dest / path.name if dest.endswith("/") and path.is_file() else layout / dest
            if path.is_dir():
                for file in path.rglob("*"):
                    relative = file.relative_to(ROOT)
                    if file.is_file() and not ignored(str(relative)):
                        (target / file.relative_to(path)).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(file, target / file.relative_to(path))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)


def scripts_run(command):
    """The repository's scripts a RUN starts; for the step that makes the
    virtual environment (image.sh venv), make_venv.sh as well."""
    scripts = re.findall(r"\bdocker/[\w.-]+\.sh\b", command)
    return scripts + ["docker/make_venv.sh"] if makes_venv(command) else scripts


def makes_venv(command):
    return re.search(r"\bimage\.sh venv\b|\bmake_venv\.sh\b", command) is not None


def python_checks():
    """The Python that make_venv.sh runs with the new environment's python."""
    snippets = re.findall(r'"\$venv/bin/python" -c \'([^\']*)\'', (ROOT / "docker" / "make_venv.sh").read_text())
    assert any("import caffe" in snippet for snippet in snippets), "make_venv.sh no longer checks its imports"
    return snippets


def run_check(folder, snippet):
    """Run `snippet` as make_venv.sh does in the image, with the repository
    being `folder`: the cwd, the environment's packages, then what the .pth
    file adds (the repository, pycaffe); nothing of this checkout.  Returns the
    finished process; its stdout ends with the repository's files it imported."""
    purelib = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    program = (f"import json, os, sys\n"
               f"sys.path += {[purelib, str(folder), str(CAFFE_PYTHON)]!r}\n"
               f"exec(compile({snippet!r}, 'make_venv.sh', 'exec'))\n"
               f"files = [m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)]\n"
               f"print(json.dumps(sorted(os.path.relpath(f, {str(folder)!r}) for f in files"
               f" if f.startswith({str(folder) + os.sep!r}) and not f.startswith({(purelib, str(CAFFE_PYTHON))!r}))))\n")
    return subprocess.run([sys.executable, "-S", "-c", program], cwd=folder, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def imported_from_checkout():
    """The repository's files that make_venv.sh's Python imports, given the whole checkout."""
    if not (CAFFE_PYTHON / "caffe").is_dir():
        pytest.skip(f"pycaffe is not built at {CAFFE_PYTHON} (make setup)")
    files = set()
    for snippet in python_checks():
        done = run_check(ROOT, snippet)
        assert done.returncode == 0, done.stderr[-2000:]
        files |= set(json.loads(done.stdout.splitlines()[-1]))
    return files


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_the_build_stage_has_every_file_it_runs(dockerfile, imported_from_checkout, tmp_path):
    layout = tmp_path / "opt-preferred-inputs"
    layout.mkdir()
    stage = build_stage(dockerfile)
    assert ("WORKDIR", "/opt/preferred-inputs") in stage, "the build stage works in another folder"
    venv_made = False
    for word, arguments in stage:
        if word == "COPY":
            copy_into(layout, arguments)
        elif word == "RUN":
            scripts = scripts_run(arguments)
            missing = [script for script in scripts if not (layout / script).is_file()]
            assert not missing, f"{dockerfile}: `RUN {arguments[:60]}...` starts {missing}, not COPY'd before it"
            if makes_venv(arguments):
                lacking = sorted(path for path in imported_from_checkout if not (layout / path).is_file())
                assert not lacking, (f"{dockerfile}: make_venv.sh's check imports {lacking}, which the build "
                                     f"stage does not COPY before `RUN {arguments}`")
                for snippet in python_checks():
                    done = run_check(layout, snippet)
                    assert done.returncode == 0, f"{dockerfile}: make_venv.sh's check fails: {done.stderr[-2000:]}"
                venv_made = True
    assert venv_made, f"{dockerfile}: no RUN of its build stage makes the virtual environment"
