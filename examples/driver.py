#!/usr/bin/env python3
"""The example scripts' driver: runs a program of prefinput/program.py's
registry in this process with the nets loaded once, once per unit and seed
as the original scripts' loops did, then makes the example's pictures
(labels, crops, collages, chains, GIFs, sheets) and their manifests from the
files the program returns.

    examples/driver.py PROGRAM --units "643 624" --labels synset --label_file F \\
        --collage output/example1.jpg --tile 5x1 -- <the program's flags>
    examples/driver.py PROGRAM --example 1 --units 13 --seeds 0 \\
        --chain 'output/chain_13__{seed}.jpg' --chain_size 40 -- <the program's flags>

Everything after `--` goes to the program, with its units' flag (the first
of its UNITS) and --seed added per run.  It uses the program interface only.
"""
import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the programs are top-level scripts

import random  # noqa: E402

from harness import figures, manifests  # noqa: E402
from prefinput import collage  # noqa: E402
from prefinput.cli import ArgumentParser, check_labels, run  # noqa: E402
from prefinput.files import hold_output_folder  # noqa: E402
from prefinput.image import imread  # noqa: E402
from prefinput.program import PROGRAMS, load  # noqa: E402
from prefinput.registry import fetching  # noqa: E402
from prefinput.steps import image_size  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            epilog="After --: the program's own flags.")
    parser.add_argument("program", choices=list(PROGRAMS), help="which program to run")
    parser.add_argument("--example", type=int, metavar="N",
                        help="the example script's number: names its published picture in the manifests")
    parser.add_argument("--units", help="space-separated units; one run each (a program that batches units: "
                                        "all in one run)")
    parser.add_argument("--seeds", help="space-separated seeds, one run each (default: the program's --seed)")
    final = parser.add_argument_group("each final image")
    final.add_argument("--crop", type=collage.parse_crop, help="crop it to WxH+X+Y first")
    final.add_argument("--labels", choices=["unit", "synset", "places"], help="label it with its unit")
    final.add_argument("--label_file", help="the label file of --labels synset or places")
    final.add_argument("--collage", help="after all runs: the final images in one montage, trimmed (DGN-AM)")
    final.add_argument("--tile", type=collage.parse_tile, default=(5, 1), help="the collage's COLUMNSxROWS")
    final.add_argument("--frames", action="store_true",
                       help="the collage shows the run's intermediate images (DGN-AM's --debug 1) instead")
    final.add_argument("--manifests", action="store_true",
                       help="each final image's own manifest, naming the gallery picture it remakes (cnn-vis)")
    final.add_argument("--sheet", help="after all runs: the final images in one montage, untrimmed (PPGN)")
    final.add_argument("--sheet_columns", type=int, default=5)
    final.add_argument("--sheet_label", help="a label under the sheet")
    chain = parser.add_argument_group("each run's kept samples (PPGN)")
    chain.add_argument("--chain", help="a montage of them, 10 a row, {seed} in the name")
    chain.add_argument("--chain_size", type=int, default=0, help="only the first N (0: all)")
    chain.add_argument("--shuffle", action="store_true", help="N picked at random (shuf | head)")
    chain.add_argument("--crop_rf", action="store_true", help="crop each to a conv5 unit's receptive field first")
    chain.add_argument("--gif", action="store_true", help="also an animated <chain>.gif of all of them")
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:split])
    if options.labels in ("synset", "places") and not options.label_file:
        parser.error(f"--labels {options.labels} needs --label_file")
    options.program_args = argv[split + 1:]
    return options


def planned_runs(options, program):
    """The program's parsed arguments for each run, in the scripts' order;
    every run's flags are checked before any net loads."""
    units = options.units.split() if options.units else []
    seeds = options.seeds.split() if options.seeds else [None]
    given = program.UNITS[0]
    groups = ([units] if given.batch_flag else [[unit] for unit in units]) if units else [[]]
    runs = []
    for group in groups:
        for seed in seeds:
            argv = list(options.program_args) + (["--seed", seed] if seed is not None else []) + \
                (given.argv(group) if group else [])
            runs.append((seed, program.parse_args(argv)))
    return runs


def pictures(options, runs):
    """(flag, path) of each picture the runs' results go into."""
    chains = [options.chain.format(seed=seed) for seed, _ in runs] if options.chain else []
    return [("--chain", chain) for chain in chains] + [("--chain", chain + ".gif") for chain in chains if options.gif] \
        + [(flag, path) for flag, path in (("--collage", options.collage), ("--sheet", options.sheet)) if path]


def check_finals(options, program, runs, size):
    """Stop with one line, before any run, unless --crop fits the final images
    (of `size`) and --label_file has a line for every unit."""
    if options.crop:
        figures.check_crop(options.crop, size)
    if options.labels in ("synset", "places"):
        fetching.require([options.label_file])
        units = [unit for _, args in runs for unit in program.units_of(args)]
        check_labels("--label_file", options.label_file, figures.read_labels(options.label_file), units)


def folder_made(path):
    """`path`, its folder made if missing (checked writable before the runs)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return path


def run_all(options, program, runs, loaded, size):
    """The Results of every run, each run's chain or manifests made (if asked) once it is done."""
    results = []
    for seed, args in runs:
        made = program.run(args, loaded)
        results += made
        for result in made:
            if options.chain:
                make_chain(options, program.scoring(args, size), size, result, options.chain.format(seed=seed))
            if options.manifests:
                write_picture_manifest(program.scoring(args, imread(result.file).shape[:2]), result)
    return results


def main(argv=None):
    options = parse_args(argv)
    program = load(options.program)
    if "--list_blobs" in options.program_args:  # the program's own answer, as when it runs alone
        return program.main(options.program_args)
    runs = planned_runs(options, program)
    for flag, path in pictures(options, runs):
        figures.check_picture(path, flag)
    loaded = program.load_nets(runs[0][1])
    size = tuple(image_size(loaded.classifier))  # of the final images and the samples
    check_finals(options, program, runs, size)
    folder = program.output_folder(runs[0][1])
    with hold_output_folder(folder, program.output_argv(folder)[0]):  # one driver at a time into a folder
        results = run_all(options, program, runs, loaded, size)
    finals = [result.file for result in results]
    if options.crop:
        for name in finals:
            collage.crop(name, *options.crop)
    if options.labels:
        lines = figures.read_labels(options.label_file) if options.labels != "unit" else []
        for result in results:
            collage.label_below(result.file, figures.label_of_result(result, options.labels, lines))
    if options.collage:
        make_collage(options, program.scoring(runs[-1][1], size), size, results)
    if options.sheet:
        make_sheet(options, program.scoring(runs[-1][1], size), results)


def panel_unit(unit, result):
    """A manifest panel's unit: the unit, or for a sum of units (--objective)
    its text, which regression.py never pairs with a published picture."""
    return result.objective if unit is None and result.objective else unit


def write_picture_manifest(scoring, result):
    """The manifest of a one-picture result, the whole image one panel (cnn-vis's
    pictures: the gallery picture of its name, exampleN.png, if it remakes one)."""
    manifests.write_manifest(result.file, (1, 1), [result.file], [panel_unit(result.unit, result)],
                             **scoring, published=manifests.published_cnnvis(result.file))


def make_collage(options, scoring, size, results):
    """DGN-AM's collage of the final images (or of the iterations, with
    --frames) with its manifest."""
    if options.frames:
        frames = results[-1].frames
        panels, units = [f.file for f in frames], [panel_unit(f.unit, results[-1]) for f in frames]
        panel_size, offset = size, (0, 0)
    else:
        panels, units = [r.file for r in results], [panel_unit(r.unit, r) for r in results]
        panel_size, offset = size, (0, 0)
        if options.crop:  # inside the image (check_finals)
            width, height, x, y = options.crop
            panel_size, offset = (height, width), (y, x)
    tile = collage.grown_tile(options.tile, len(panels))
    collage.montage(panels, folder_made(options.collage), tile=tile)
    # a collage with a sum of units in it remakes no published picture
    published = {"published": None} if any(isinstance(unit, str) for unit in units) else {}
    manifests.write_manifest(options.collage, tile, panels, units, panel_size, offset, net=scoring["net"],
                             layer=scoring["layer"], xy=scoring["xy"], **published)
    # The original scripts' last words (the scripts now end by exec'ing this)
    if options.frames:
        print(f"Intermediate results: {options.collage}")
    else:
        print("==============================")
        print(f"Result of example {options.example}: [ {options.collage} ]" if options.example
              else f"Result: [ {options.collage} ]")


def make_chain(options, scoring, size, result, chain):
    """The montage of a run's kept samples (10 a row) with its manifest, and its GIF if asked."""
    samples = result.frames
    if not samples:
        print(f"No samples were kept (none passed the threshold): no {chain}")
        return
    offset = (0, 0)
    if options.crop_rf:
        for sample in samples:
            figures.crop_receptive_field(sample.file)
        size, offset = figures.receptive_field(size[1])
    picked = random.sample(samples, len(samples)) if options.shuffle else samples
    if options.chain_size:
        picked = picked[:options.chain_size]
    tile = figures.rows_montage([s.file for s in picked], folder_made(chain), figures.CHAIN_COLUMNS)
    manifests.write_manifest(chain, tile, [s.file for s in picked], [panel_unit(s.unit, result) for s in picked],
                             size, offset, net=scoring["net"], layer=scoring["layer"], xy=scoring["xy"],
                             published=manifests.published_ppgn(options.example))
    print(os.path.abspath(chain))
    if options.gif:
        figures.write_gif([s.file for s in samples], chain + ".gif")
        print(os.path.abspath(chain + ".gif"))


def make_sheet(options, scoring, results):
    """The final images of all runs in one montage, with a label if asked, and its manifest."""
    finals = [result.file for result in results]
    tile = figures.rows_montage(finals, folder_made(options.sheet), options.sheet_columns)
    if options.sheet_label:
        collage.label_below(options.sheet, options.sheet_label)
    manifests.write_manifest(options.sheet, tile, finals, [panel_unit(r.unit, r) for r in results], **scoring,
                             published=manifests.published_ppgn(options.example))
    print(os.path.abspath(options.sheet))


if __name__ == "__main__":
    run(main)
