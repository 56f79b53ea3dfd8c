"""What every program is, written down once: the interface that the example
driver (examples/driver.py) and sweep.py call, and the registry of programs
they run.

A program is a module (act_max.py, sampling_class.py, sampling_caption.py,
cnn_vis.py, examples/cnnpref/cnnpref_program.py) with the members of
`Program` below.  Run alone, its `main(argv)` is

    args = parse_args(argv)           # every flag checked: a mistake is one line
    loaded = load_nets(args)          # every file fetched, every blob and unit checked
    results = run(args, loaded)       # the algorithm; the files it wrote

and a driver or a sweep does the same, loading the nets once for many runs.
Nothing here imports a program: the registry names them, and `load` imports
one when asked.
"""
import argparse
import importlib
import os
import sys
from dataclasses import dataclass
from types import SimpleNamespace
from typing import List, Optional, Protocol, Sequence, Tuple

from .results import Result

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (module, its folder in the repository): the programs the driver and sweep.py run
PROGRAMS = {
    "act_max": ("act_max", ""),
    "sampling_class": ("sampling_class", ""),
    "sampling_caption": ("sampling_caption", ""),
    "cnn_vis": ("cnn_vis", ""),
    "cnnpref": ("cnnpref_program", os.path.join("examples", "cnnpref")),
}


def load(name):
    """The program module registered as `name` (its folder put on sys.path, as
    when it runs as a script)."""
    module, folder = PROGRAMS[name]
    path = os.path.join(ROOT, folder)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module(module)


class Loaded(SimpleNamespace):
    """The nets a program loaded, by name: `classifier` always, the net whose
    units are visualised; the others as the program names them (generator,
    encoder, lstm; None where a run needs none)."""

    def __init__(self, classifier, **others):
        super().__init__(classifier=classifier, **others)


@dataclass(frozen=True)
class Units:
    """One way to tell a program what to visualise, as the driver's --units
    and a sweep's values give it: `--flag unit...`."""
    flag: str                           # the program's flag, e.g. "unit"
    numbered: bool = True               # units are numbers: a sweep takes ranges (0-9) and `all`
    layer_flag: Optional[str] = None    # the flag naming the blob whose units they are (what `all` counts)
    batch_flag: Optional[str] = None    # the flag saying how many one pass takes; None: one unit a run
    name_flags: frozenset = frozenset()  # the flags the output files' names carry
    folder_per_unit: bool = False       # each unit's files in a folder of their own (their names leave it out)
    before: Tuple[str, ...] = ()        # flags that go with it (cnn_vis: --image_type amplify_neuron)

    def argv(self, units):
        """The flags that give `units` (strings) to the program."""
        return [*self.before, f"--{self.flag}", *units]

    def count(self, args, loaded):
        """How many units the blob of `args` has (what `all` means); None where they are not numbered."""
        return loaded.classifier.blobs[getattr(args, self.layer_flag)].data.shape[1] if self.layer_flag else None


class Program(Protocol):
    """The members every program module has (module-level names)."""

    UNITS: Sequence[Units]
    """The ways it is told what to visualise; the first is the driver's --units
    and the sweep's default (act_max: --unit, then --objective)."""

    NET_FLAGS: Sequence[str]
    """The flags besides the files that decide what load_nets loads and checks
    (the blob names): runs that agree in them and in needed_files share nets."""

    def parse_args(self, argv: Optional[List[str]]) -> argparse.Namespace:
        """The command line, checked: a mistake is one line (UserError, or
        argparse's exit 2) before any file is read."""

    def needed_files(self, args) -> List[str]:
        """The models and data files a run reads (load_nets fetches them first)."""

    def load_nets(self, args) -> Loaded:
        """The nets, every file fetched and every blob and unit of `args`
        checked (check_units): a mistake is one line before any work."""

    def check_units(self, args, loaded: Loaded) -> None:
        """Stop with one line unless what `args` visualises is in the loaded nets."""

    def run(self, args, loaded: Loaded) -> List[Result]:
        """The algorithm with the nets loaded: writes the files and returns
        them, one Result per final image (the same files and bits as main)."""

    def units_of(self, args) -> List[int]:
        """The unit numbers a run visualises (a label file must name them)."""

    def output_argv(self, folder: str) -> List[str]:
        """The flags that send a run's files into `folder`."""

    def output_folder(self, args) -> str:
        """The folder a run writes into (one run at a time holds it)."""

    def scoring(self, args, size) -> dict:
        """How regression.py scores a final image of `size` (height, width):
        harness.manifests.write_manifest's net
        (definition, weights; None: not scored), layer, xy, panel_size and
        act_region."""

    def sweep_problem(self, args) -> Optional[str]:
        """Why a sweep cannot run `args` as a point (None: it can)."""

    def main(self, argv: Optional[List[str]]) -> Optional[int]:
        """The program alone: parse_args, load_nets, run (and what it does
        besides, e.g. --list_blobs)."""


MEMBERS = ("UNITS", "NET_FLAGS", "parse_args", "needed_files", "load_nets", "check_units", "run", "units_of",
           "output_argv", "output_folder", "scoring", "sweep_problem", "main")


def units_given(program, flags):
    """The Units of `program` that the flag names in `flags` give (the first
    found, in the program's order), else its first."""
    return next((units for units in program.UNITS if units.flag in flags), program.UNITS[0])
