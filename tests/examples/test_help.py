"""--help everywhere, and nothing else: every program, numbered script and
example answers --help/-h with its usage, the environment variables it reads
and the registry models it downloads, creates nothing; an unknown argument is
one line, exit 2."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from prefinput.registry import catalogue

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ["act_max.py", "sampling_class.py", "sampling_caption.py", "cnn_vis.py", "regression.py", "sweep.py",
            "examples/cnnpref/cnnpref_program.py"]
NUMBERED = sorted(path.name for path in ROOT.glob("[1-7]_*.sh"))
CNNPREF = sorted("examples/cnnpref/" + path.name for path in (ROOT / "examples" / "cnnpref").glob("generate_*.py"))
CNNVIS = sorted("examples/cnn-vis/" + path.name for path in (ROOT / "examples" / "cnn-vis").glob("example*.sh"))
REGISTRY = {model.name for model in catalogue.MODELS}


def command(script):
    """How `script` is started: the Python ones with this interpreter."""
    return [sys.executable, str(ROOT / script)] if script.endswith(".py") else [str(ROOT / script)]


def call(script, argument, tmp_path):
    """Run `script argument` in an empty folder, NETS_DIR an empty folder, PYTHON
    nowhere (a shell script that reached Python would fail); return the result
    and everything then found under tmp_path."""
    cwd, nets = tmp_path / "cwd", tmp_path / "nets"
    cwd.mkdir()
    nets.mkdir()
    env = dict(os.environ, NETS_DIR=str(nets), PYTHON=str(tmp_path / "no-python"), HOME=str(tmp_path / "home"))
    env.pop("PREFINPUT_OFFLINE", None)
    env.pop("OUTPUT_DIR", None)
    result = subprocess.run(command(script) + [argument], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=120)
    return result, sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))


def variables_read(script):
    """The environment variables a shell script reads: ${NAME...} in it and in
    what it sources, where their names are written."""
    sources = [ROOT / script, ROOT / "examples/numbered.sh"] + ([ROOT / "examples/cnn-vis/common.sh"]
                                                                if script.startswith("examples/cnn-vis/") else [])
    names = set()
    for source in sources:
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", source.read_text()))
    return names - {"BASH_SOURCE"}  # bash's


def downloads(text):
    """The registry models named after 'Downloads on first use ... NAME):'."""
    match = re.search(r"Downloads on first use.*?NAME\):(.*?)\.(\s|$)", text, re.S)
    assert match, "the help says what it downloads"
    return set(re.findall(r"[\w-]+", match.group(1))) & REGISTRY


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("script", PROGRAMS + NUMBERED + CNNPREF + CNNVIS)
def test_help_says_usage_downloads_and_variables_and_does_nothing(script, flag, tmp_path):
    result, found = call(script, flag, tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert Path(script).name in text  # argparse's usage line; the scripts' own examples
    if script != "sweep.py":  # sweep.py: its program's help names them (sweep.py act_max --help)
        assert "NETS_DIR" in text
        assert downloads(text), "the help names the registry models it fetches"
    if script.endswith(".sh"):
        missing = [name for name in variables_read(script) if name not in text]
        assert not missing, f"{script} reads {missing} but its help does not name them"
    assert found == ["cwd", "nets"], f"{script} {flag} created {found}"


@pytest.mark.parametrize("script", PROGRAMS + NUMBERED + CNNPREF + ["sampler.py"])
def test_unknown_argument_is_one_line(script, tmp_path):
    result, found = call(script, "--no-such-flag", tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert found == ["cwd", "nets"], f"{script} created {found}"


def test_ppgn_help_names_the_variables_read():
    """The generator flags of the sampling programs default to PPGN_GENERATOR_*."""
    result = subprocess.run([sys.executable, str(ROOT / "sampling_class.py"), "--help"], capture_output=True,
                            text=True, timeout=120, check=True)
    text = " ".join(result.stdout.split())  # argparse wraps the help to the paths' lengths
    assert "(environment: PPGN_GENERATOR_DEFINITION)" in text
    assert "(environment: GENERATOR_DEFINITION)" not in text


def test_cnn_vis_flags_all_described_with_defaults():
    sys.path.insert(0, str(ROOT))
    import cnn_vis
    parser = cnn_vis.build_parser()
    for action in parser._actions:
        if action.dest != "help":
            assert action.help and "%(default)s" in parser.formatter_class(
                "x")._get_help_string(action), action.dest


def test_sampler_points_at_the_programs(tmp_path):
    result, _ = call("sampler.py", "--help", tmp_path)
    assert result.returncode == 0
    assert "sampling_class.py" in result.stdout and "sampling_caption.py" in result.stdout
    bare = subprocess.run([sys.executable, str(ROOT / "sampler.py")], capture_output=True, text=True, timeout=60)
    assert bare.returncode == 2 and len(bare.stderr.strip().splitlines()) == 1
    assert "sampling_class.py" in bare.stderr


@pytest.mark.parametrize("script", NUMBERED + CNNVIS + CNNPREF)
def test_help_starts_with_the_usage_naming_required_and_optional_arguments(script, tmp_path):
    """The first line says how to call it: the numbered scripts and the cnn-vis
    examples through examples/numbered.sh (no script writes its own), the cnnpref
    examples through argparse; each argument is explained as required or optional,
    and a script that names a required argument refuses to run without it."""
    result, _ = call(script, "--help", tmp_path)
    lines = result.stdout.splitlines()
    name = re.escape(Path(script).name)
    if script.endswith(".py"):  # argparse wraps a long name's usage: its first paragraph
        usage = " ".join(result.stdout.split("\n\n")[0].split())
        assert re.match(rf"usage: {name} \[-h\]", usage), usage
        return
    assert "Usage:" not in (ROOT / script).read_text(), "the usage line comes from examples/numbered.sh"
    match = re.match(rf"Usage: \./{re.escape(script)} \[-h\|--help\]((?: \S+)*)$", lines[0])
    assert match, lines[0]
    arguments = match.group(1).split()
    for argument in arguments:
        kind = "optional" if argument.startswith("[") else "required"
        assert any(re.match(rf"  {re.escape(argument)} +{kind}: \w", line) for line in lines[1:]), \
            f"{script}: the help does not explain {argument} as {kind}"
    required = [argument for argument in arguments if not argument.startswith("[")]
    if required:
        bare = subprocess.run(command(script), cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert bare.returncode == 2 and len(bare.stderr.splitlines()) == 1, bare.stderr
    elif not arguments:
        (tmp_path / "extra").mkdir()
        result, _ = call(script, "extra", tmp_path / "extra")
        assert result.returncode == 2 and "takes no arguments" in result.stderr, result.stderr
