"""The driver behind the PPGN example scripts (1_class_conditional_sampling.sh
.. 7_inpainting.sh): one process loads the nets once, runs the sampler for
each unit and seed as the original scripts' loops did, and then makes their
pictures (crops, montages, GIFs, labels) with Wand instead of shell commands.

    python -m prefinput.ppgn_examples class --units "945" --seeds "0" \\
        --chain 'output/chain_945__{seed}.jpg' --chain_size 40 -- <sampling_class.py flags>

Everything after `--` goes to the sampling program (sampling_class.py, or
sampling_caption.py with `caption`), with --units/--seed added per run.
Beside each montage it writes the manifest regression.py reads (<montage>.json).
"""
import argparse
import glob
import math
import os
import random
import sys

from wand.image import Image

from . import collage, regression
from .cli import run
from .files import atomic_path
from .ppgn import image_size

# conv5 receptive field at a 227x227 input (scripts 3 and 4: convert -crop 163x163+32+32)
RF_SIZE, RF_OFFSET, RF_IMAGE = 163, 32, 227
COLUMNS = 10      # montage -tile 10x
GIF_DELAY = 5     # convert -delay 5 (hundredths of a second)

# The figures of the original README that the examples remake, under the
# registry's data/examples/: example number -> (picture, how its panels pair
# with ours (see prefinput/regression.py), what it shows).  Example 2 was
# published only as GIFs.
PUBLISHED = {
    1: ("ppgn/example1.jpg", "grid:10x4", "class 13 (junco): the first 40 samples of a chain"),
    3: ("ppgn/hidden_faces.jpg", "any:10x3", "conv5 unit 196 of CaffeNet (faces): 30 samples picked at random"),
    4: ("ppgn/hidden_food.jpg", "any:10x3", "conv5 unit 182 of AlexNet on Places205 (food): 30 random samples"),
    5: ("ppgn/a_church_steeple_that_has_a_clock_on_it.jpg", "grid:3x1", "the caption in its name, seeds 0-2"),
    6: ("ppgn/example6.jpg", "grid:10x3", "class 980 (volcano) from volcano.jpg: the first 30 samples"),
    7: ("ppgn/example7.jpg", "grid:5x2", "class 980 (volcano): holes filled in, seeds 0-9"),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument('program', choices=['class', 'caption'], help='which sampler to run')
    parser.add_argument('--example', type=int, choices=range(1, 8), metavar='N',
                        help="the example script's number: names its published picture in the manifest")
    parser.add_argument('--units', default=None,
                        help='space-separated list; the sampler runs once per entry (class only)')
    parser.add_argument('--seeds', default='0', help='space-separated list of seeds, one run each')
    parser.add_argument('--chain', help='after each run: a montage of the samples, {seed} in the name')
    parser.add_argument('--chain_size', type=int, default=0, help='montage only the first N samples (0: all)')
    parser.add_argument('--shuffle', action='store_true', help='pick the N samples at random (shuf | head)')
    parser.add_argument('--crop_rf', action='store_true',
                        help="crop each sample to a conv5 unit's receptive field first")
    parser.add_argument('--gif', action='store_true', help='also an animated <chain>.gif of all samples')
    parser.add_argument('--sheet', help='after all runs: a montage of the final images')
    parser.add_argument('--sheet_columns', type=int, default=5)
    parser.add_argument('--sheet_label', help='a label under the sheet')
    parser.epilog = 'After --: the sampling program\'s flags.'
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index('--') if '--' in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.program_args = argv[split + 1:]
    return args


def sampling_program(name):
    if name == 'class':
        import sampling_class
        return sampling_class
    import sampling_caption
    return sampling_caption


def runs(options, program):
    """The sampler's parsed arguments for each (unit, seed), in the scripts' order."""
    units = options.units.split() if options.units else [None]
    result = []
    for unit in units:
        for seed in options.seeds.split():
            argv = list(options.program_args) + ['--seed', seed] + (['--units', unit] if unit else [])
            result.append((seed, program.parse_args(argv)))
    return result


def main(argv=None):
    options = parse_args(argv)
    program = sampling_program(options.program)
    planned = runs(options, program)  # every run's flags are checked before the nets load
    nets = program.load_nets(planned[0][1])
    size = image_size(nets[0])  # of the samples
    for seed, args in planned:
        program.sample(args, nets)
        if options.chain:
            make_chain(options, args, size, options.chain.format(seed=seed))
    if options.sheet:
        make_sheet(options, planned[0][1], size)


def make_chain(options, args, size, chain):
    """The montage of a run's samples (10 a row) with its manifest, and its GIF if asked."""
    sample_dir = os.path.join(args.output_dir, 'samples')
    samples = sorted(glob.glob(os.path.join(sample_dir, '*.jpg')))
    if not samples:
        print(f"No samples in {sample_dir} (none passed the threshold): no {chain}")
        return
    offset = (0, 0)
    if options.crop_rf:
        for path in samples:
            crop_receptive_field(path)
        size, offset = receptive_field(size[1])
    picked = samples
    if options.shuffle:
        picked = random.sample(samples, len(samples))
    if options.chain_size:
        picked = picked[:options.chain_size]
    montage(picked, chain, COLUMNS)
    units = condition_units(args)
    write_manifest(options, args, chain, COLUMNS, picked, [unit_of_sample(units, args.n_iters, path)
                                                          for path in picked], size, offset)
    print(os.path.abspath(chain))
    if options.gif:
        write_gif(samples, chain + '.gif')
        print(os.path.abspath(chain + '.gif'))


def make_sheet(options, args, size):
    """The final images of all runs in one montage, with a label if asked,
    and its manifest."""
    finals = sorted(glob.glob(os.path.join(args.output_dir, f'{args.act_layer}_*.jpg')))
    montage(finals, options.sheet, options.sheet_columns)
    if options.sheet_label:
        collage.label_below(options.sheet, options.sheet_label)
    units = condition_units(args)[-1:] or [None]  # the condition each chain ended on
    panel_size, act_region = size, None
    if getattr(args, 'epsilon4', 0) > 0:  # inpainting: masked image | filled one; the net scores the filled one
        panel_size, act_region = (size[0], 2 * size[1] + 1), [0, size[1] + 1, size[0], size[1]]
    write_manifest(options, args, options.sheet, options.sheet_columns, finals, units * len(finals),
                   panel_size, act_region=act_region)
    print(os.path.abspath(options.sheet))


def montage(paths, out, columns):
    """montage PATHS -tile Cx -geometry +1+1 OUT"""
    rows = math.ceil(len(paths) / columns)
    collage.montage(paths, out, tile=(columns, rows), border=1, trim=False)


def receptive_field(width):
    """((height, width), (top, left)) of the receptive field's crop of a sample `width` wide."""
    size, offset = RF_SIZE * width // RF_IMAGE, RF_OFFSET * width // RF_IMAGE
    return (size, size), (offset, offset)


def crop_receptive_field(path):
    """convert f -crop 163x163+32+32 +repage f, scaled to the sample's size."""
    with Image(filename=path) as picture:
        (size, _), (offset, _) = receptive_field(picture.width)
    collage.crop(path, size, size, offset, offset)


def write_gif(paths, out):
    """convert PATHS -delay 5 -loop 0 OUT: an endless animation of the files."""
    with Image() as animation:
        for path in paths:
            with Image(filename=path) as frame:
                animation.sequence.append(frame)
        for frame in animation.sequence:
            frame.delay = GIF_DELAY
        animation.loop = 0
        animation.format = 'gif'
        with atomic_path(out) as temporary:
            animation.save(filename=temporary)


# --- the manifest regression.py reads ---------------------------------------

def condition_units(args):
    """The units a class-conditional run visits in turn (none for a caption)."""
    return [int(unit) for unit in args.units.split('_')] if getattr(args, 'units', None) else []


def unit_of_sample(units, n_iters, path):
    """The unit the chain was on when it kept the sample `path` (named after
    its step): the sampler moves on after steps n_iters, 2 n_iters, ..."""
    if not units:
        return None
    step = int(os.path.splitext(os.path.basename(path))[0])
    return units[min(max(step - 1, 0) // n_iters, len(units) - 1)]


def published(example):
    """The manifest's entry for the published picture of `example` (None if there is none)."""
    if example not in PUBLISHED:
        return None
    image, layout, shows = PUBLISHED[example]
    return {"image": image, **regression.parse_layout(layout), "shows": shows}


def write_manifest(options, args, picture, columns, panels, units, panel_size, panel_offset=(0, 0),
                   act_region=None):
    """Beside `picture` (a montage of the `panels` files, `columns` a row):
    which published picture it remakes, and what regression.py needs to pair
    and score the panels (the top centre `panel_size` of each file, at
    `panel_offset` in the condition net's input; a caption has no unit)."""
    scored = options.program == 'class'
    return regression.save_manifest(picture, {
        "tile": [columns, math.ceil(len(panels) / columns)],
        "published": published(options.example),
        "net_definition": os.path.abspath(args.net_definition) if scored else None,
        "net_weights": os.path.abspath(args.net_weights) if scored else None,
        "layer": args.act_layer if scored else None,
        "xy": args.xy,
        "panel_size": [int(n) for n in panel_size],
        "panel_offset": [int(n) for n in panel_offset],
        "act_region": act_region,
        "panels": [{"file": path, "unit": unit} for path, unit in zip(panels, units)],
    })


if __name__ == '__main__':
    run(main)
