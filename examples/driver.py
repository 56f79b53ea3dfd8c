#!/usr/bin/env python3
"""The example scripts' driver: runs act_max.py, sampling_class.py or
sampling_caption.py in this process with the nets loaded once, once per unit
and seed as the original scripts' loops did, then makes the example's
pictures (labels, crops, collages, chains, GIFs, sheets) and their manifests
from the files the program returns.

    examples/driver.py act_max --units "643 624" --labels synset --label_file F \\
        --collage output/example1.jpg --tile 5x1 -- <act_max.py flags>
    examples/driver.py sampling_class --example 1 --units 13 --seeds 0 \\
        --chain 'output/chain_13__{seed}.jpg' --chain_size 40 -- <sampling_class.py flags>

Everything after `--` goes to the program, with --unit(s)/--seed added per run.
"""
import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the programs are top-level scripts

import importlib  # noqa: E402
import random  # noqa: E402

from harness import figures, manifests  # noqa: E402
from prefinput import collage, objectives  # noqa: E402
from prefinput.cli import ArgumentParser, check_labels, run  # noqa: E402
from prefinput.files import hold_output_folder  # noqa: E402
from prefinput.registry import fetching  # noqa: E402
from prefinput.steps import image_size  # noqa: E402

PROGRAMS = ("act_max", "sampling_class", "sampling_caption")


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            epilog="After --: the program's own flags.")
    parser.add_argument("program", choices=PROGRAMS, help="which program to run")
    parser.add_argument("--example", type=int, metavar="N",
                        help="the example script's number: names its published picture in the manifests")
    parser.add_argument("--units", help="space-separated units; one run each (act_max: all in one run)")
    parser.add_argument("--seeds", help="space-separated seeds, one run each (default: the program's --seed)")
    final = parser.add_argument_group("each final image")
    final.add_argument("--crop", type=collage.parse_crop, help="crop it to WxH+X+Y first")
    final.add_argument("--labels", choices=["unit", "synset", "places"], help="label it with its unit")
    final.add_argument("--label_file", help="the label file of --labels synset or places")
    final.add_argument("--collage", help="after all runs: the final images in one montage, trimmed (DGN-AM)")
    final.add_argument("--tile", type=collage.parse_tile, default=(5, 1), help="the collage's COLUMNSxROWS")
    final.add_argument("--frames", action="store_true",
                       help="the collage shows the run's intermediate images (act_max --debug 1) instead")
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
    if options.program == "act_max":
        groups = [units] if units else [[]]
        flag = "--unit"
    else:
        groups = [[unit] for unit in units] or [[]]
        flag = "--units"
    runs = []
    for group in groups:
        for seed in seeds:
            argv = list(options.program_args) + (["--seed", seed] if seed is not None else []) + \
                ([flag, *group] if group else [])
            runs.append((seed, program.parse_args(argv)))
    return runs


def pictures(options, runs):
    """(flag, path) of each picture the runs' results go into."""
    chains = [options.chain.format(seed=seed) for seed, _ in runs] if options.chain else []
    return [("--chain", chain) for chain in chains] + [("--chain", chain + ".gif") for chain in chains if options.gif] \
        + [(flag, path) for flag, path in (("--collage", options.collage), ("--sheet", options.sheet)) if path]


def check_finals(options, runs, size):
    """Stop with one line, before any run, unless --crop fits the final images
    (of `size`) and --label_file has a line for every unit."""
    if options.crop:
        figures.check_crop(options.crop, size)
    if options.labels in ("synset", "places"):
        fetching.require([options.label_file])
        # act_max's --unit list, sampling_class's --units 946_629 (checked by its load_nets), --objective's terms
        units = [unit for _, args in runs for unit in (args.unit if getattr(args, "unit", None) else
                                                       [int(u) for u in (getattr(args, "units", None) or "").split("_")
                                                        if u])]
        units += [term.unit for _, args in runs for text in getattr(args, "objective", None) or []
                  for term in objectives.parse(text).terms]
        check_labels("--label_file", options.label_file, figures.read_labels(options.label_file), units)


def folder_made(path):
    """`path`, its folder made if missing (checked writable before the runs)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return path


def run_program(program, args, loaded):
    """The Results of one run."""
    if hasattr(program, "visualise"):
        return program.visualise(args, loaded)
    return [program.sample(args, loaded)]


def run_all(options, program, runs, loaded, size):
    """The Results of every run, each run's chain made (if asked) once it is done."""
    results = []
    for seed, args in runs:
        made = run_program(program, args, loaded)
        results += made
        if options.chain:
            for result in made:
                make_chain(options, args, size, result, options.chain.format(seed=seed))
    return results


def main(argv=None):
    options = parse_args(argv)
    program = importlib.import_module(options.program)
    runs = planned_runs(options, program)
    for flag, path in pictures(options, runs):
        figures.check_picture(path, flag)
    loaded = program.load_nets(runs[0][1])
    net = loaded.net if options.program == "act_max" else loaded[0]
    size = tuple(image_size(net))  # of the final images and the samples
    check_finals(options, runs, size)
    with hold_output_folder(runs[0][1].output_dir, "--output_dir"):  # one driver at a time into a folder
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
        make_collage(options, runs[-1][1], size, results)
    if options.sheet:
        make_sheet(options, runs[-1][1], size, results)


def panel_unit(unit, result):
    """A manifest panel's unit: the unit, or for a sum of units (--objective)
    its text, which regression.py never pairs with a published picture."""
    return result.objective if unit is None and result.objective else unit


def scored_net(args):
    """The (definition, weights) a manifest's panels are scored on: the condition
    net's, where the example activates units (a caption has none)."""
    return None if hasattr(args, "sentence") else (args.net_definition, args.net_weights)


def make_collage(options, args, size, results):
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
    manifests.write_manifest(options.collage, tile, panels, units, panel_size, offset, net=scored_net(args),
                             layer=args.act_layer, xy=args.xy, **published)
    # The original scripts' last words (the scripts now end by exec'ing this)
    if options.frames:
        print(f"Intermediate results: {options.collage}")
    else:
        print("==============================")
        print(f"Result of example {options.example}: [ {options.collage} ]" if options.example
              else f"Result: [ {options.collage} ]")


def make_chain(options, args, size, result, chain):
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
                             size, offset,
                             net=scored_net(args), layer=args.act_layer, xy=args.xy,
                             published=manifests.published_ppgn(options.example))
    print(os.path.abspath(chain))
    if options.gif:
        figures.write_gif([s.file for s in samples], chain + ".gif")
        print(os.path.abspath(chain + ".gif"))


def make_sheet(options, args, size, results):
    """The final images of all runs in one montage, with a label if asked, and its manifest."""
    finals = [result.file for result in results]
    tile = figures.rows_montage(finals, folder_made(options.sheet), options.sheet_columns)
    if options.sheet_label:
        collage.label_below(options.sheet, options.sheet_label)
    panel_size, act_region = size, None
    if getattr(args, "epsilon4", 0) > 0:  # inpainting: masked image | filled one; the net scores the filled one
        panel_size, act_region = (size[0], 2 * size[1] + 1), [0, size[1] + 1, size[0], size[1]]
    manifests.write_manifest(options.sheet, tile, finals, [panel_unit(r.unit, r) for r in results], panel_size,
                             net=scored_net(args), layer=args.act_layer, xy=args.xy, act_region=act_region,
                             published=manifests.published_ppgn(options.example))
    print(os.path.abspath(options.sheet))


if __name__ == "__main__":
    run(main)
