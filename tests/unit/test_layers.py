"""The packages are layers: prefinput (what two or more methods share) at the
bottom; each method's own package above it (cnnvis, ppgn, cnnpref), which
imports only prefinput; the harness (harness/) above those; the programs and
scripts at the top.  No module imports a layer above its own, a method
another method, and prefinput's modules import one another without a cycle,
counting the imports inside functions too."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"prefinput": 0, "cnnvis": 1, "ppgn": 1, "cnnpref": 1, "harness": 2}
PROGRAMS = 3  # everything else of the repository: act_max.py, sweep.py, examples/, bench/ ...


def project_names():
    """The top-level names a module of the repository is imported by."""
    return ({p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")}
            | {"examples", "bench", "tests", "notebooks"})


def layer_of(module):
    return LAYERS.get(module.split(".")[0], PROGRAMS)


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path):
    """(line, module) of every import of the repository's modules in the file
    at `path`, at any depth (inside functions too); `from package import x`
    counts as importing package.x where x is a module."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    names = project_names()
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                where = ROOT / candidate.replace(".", "/")
                is_module = where.with_suffix(".py").exists() or (where / "__init__.py").exists()
                found.append((node.lineno, candidate if is_module else base))
    return [(line, name) for line, name in found if name.split(".")[0] in names]


def package_files():
    return sorted(path for package in LAYERS for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_layer_above_its_own_or_another_method(path):
    own = module_name(path)
    wrong = [f"{path.relative_to(ROOT)}:{line}: imports {name}" for line, name in imported(path)
             if layer_of(name) > layer_of(own)
             or (layer_of(name) == layer_of(own) == 1 and name.split(".")[0] != own.split(".")[0])]
    assert not wrong, "; ".join(wrong)


def import_cycle(paths):
    """An import cycle among the modules at `paths` (a list of names, the
    first repeated at the end), or None."""
    edges = {module_name(path): {name for _line, name in imported(path)} for path in paths}

    def cycle_from(start, trail):
        for nxt in sorted(edges.get(trail[-1], ())):
            if nxt == start:
                return trail + [nxt]
            if nxt not in trail and nxt in edges:
                found = cycle_from(start, trail + [nxt])
                if found:
                    return found
        return None

    return next(filter(None, (cycle_from(module, [module]) for module in sorted(edges))), None)


def test_the_imports_between_modules_have_no_cycle():
    found = import_cycle(package_files())
    assert found is None, "import cycle: " + " -> ".join(found)


def loaded_after(statement):
    """The repository's modules loaded by a fresh Python running `statement`."""
    code = f"{statement}; import json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    names = project_names()
    return [name for name in json.loads(done.stdout.splitlines()[-1]) if name.split(".")[0] in names]


def test_importing_prefinput_loads_nothing_above_it():
    assert [name for name in loaded_after("import prefinput") if layer_of(name) > 0] == []


def test_importing_every_prefinput_module_loads_nothing_above_it():
    modules = [module_name(path) for path in sorted((ROOT / "prefinput").rglob("*.py"))]
    assert "prefinput.registry.command" in modules  # the walk finds the subpackages' modules
    statement = "; ".join(f"import {name}" for name in modules)
    assert [name for name in loaded_after(statement) if layer_of(name) > 0] == []


def test_the_check_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    """A module of prefinput importing the harness in a function body is caught."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "prefinput").mkdir()
    (tmp_path / "harness").mkdir()
    for package in ("prefinput", "harness"):
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "harness" / "figures.py").write_text("")
    late = tmp_path / "prefinput" / "late.py"
    late.write_text("def f():\n    from harness import figures\n    return figures\n")
    assert imported(late) == [(2, "harness.figures")]
    with pytest.raises(AssertionError, match=r"prefinput/late.py:2: imports harness.figures"):
        test_no_module_imports_a_layer_above_its_own_or_another_method(late)


def test_the_check_sees_a_cycle_through_an_import_inside_a_function(tmp_path, monkeypatch):
    """cli importing the registry in a function, the registry importing cli
    at the top (as prefinput had it): a cycle, named."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "prefinput").mkdir()
    (tmp_path / "prefinput" / "__init__.py").write_text("")
    (tmp_path / "prefinput" / "cli.py").write_text("def flags():\n    from prefinput import catalogue\n")
    (tmp_path / "prefinput" / "catalogue.py").write_text("from prefinput.cli import flags\n")
    paths = sorted((tmp_path / "prefinput").glob("*.py"))
    assert import_cycle(paths) == ["prefinput.catalogue", "prefinput.cli", "prefinput.catalogue"]
