"""The driver behind the PPGN example scripts (1_class_conditional_sampling.sh
.. 7_inpainting.sh): one process loads the nets once, runs the sampler for
each unit and seed as the original scripts' loops did, and then makes their
pictures (crops, montages, GIFs, labels) with Wand instead of shell commands.

    python -m prefinput.ppgn_examples class --units "945" --seeds "0" \\
        --chain 'output/chain_945__{seed}.jpg' --chain_size 40 -- <sampling_class.py flags>

Everything after `--` goes to the sampling program (sampling_class.py, or
sampling_caption.py with `caption`), with --units/--seed added per run.
"""
import argparse
import glob
import math
import os
import random
import sys

from wand.image import Image

from . import collage
from .cli import run
from .files import atomic_path

# conv5 receptive field at a 227x227 input (scripts 3 and 4: convert -crop 163x163+32+32)
RF_SIZE, RF_OFFSET, RF_IMAGE = 163, 32, 227
COLUMNS = 10      # montage -tile 10x
GIF_DELAY = 5     # convert -delay 5 (hundredths of a second)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument('program', choices=['class', 'caption'], help='which sampler to run')
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
    for seed, args in planned:
        program.sample(args, nets)
        if options.chain:
            make_chain(options, os.path.join(args.output_dir, 'samples'), options.chain.format(seed=seed))
    if options.sheet:
        make_sheet(options, planned[0][1])


def make_chain(options, sample_dir, chain):
    """The montage of a run's samples (10 a row), and its GIF if asked."""
    samples = sorted(glob.glob(os.path.join(sample_dir, '*.jpg')))
    if not samples:
        print(f"No samples in {sample_dir} (none passed the threshold): no {chain}")
        return
    if options.crop_rf:
        for path in samples:
            crop_receptive_field(path)
    picked = samples
    if options.shuffle:
        picked = random.sample(samples, len(samples))
    if options.chain_size:
        picked = picked[:options.chain_size]
    montage(picked, chain, COLUMNS)
    print(os.path.abspath(chain))
    if options.gif:
        write_gif(samples, chain + '.gif')
        print(os.path.abspath(chain + '.gif'))


def make_sheet(options, args):
    """The final images of all runs in one montage, with a label if asked."""
    finals = sorted(glob.glob(os.path.join(args.output_dir, f'{args.act_layer}_*.jpg')))
    montage(finals, options.sheet, options.sheet_columns)
    if options.sheet_label:
        collage.label_below(options.sheet, options.sheet_label)
    print(os.path.abspath(options.sheet))


def montage(paths, out, columns):
    """montage PATHS -tile Cx -geometry +1+1 OUT"""
    rows = math.ceil(len(paths) / columns)
    collage.montage(paths, out, tile=(columns, rows), border=1, trim=False)


def crop_receptive_field(path):
    """convert f -crop 163x163+32+32 +repage f, scaled to the sample's size."""
    with Image(filename=path) as picture:
        width = picture.width
    size, offset = RF_SIZE * width // RF_IMAGE, RF_OFFSET * width // RF_IMAGE
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


if __name__ == '__main__':
    run(main)
