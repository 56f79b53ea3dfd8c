"""Our example collages beside the published ones.

For each collage an example script made (say output/example1.jpg) this reads
the manifest written beside it (output/example1.json: the panel files, the
net, the layer, units and position), finds each panel in the published image
of the same name, and writes <collage>_vs_published.jpg: every panel of ours
beside the published one, under them the SSIM of the two (scikit-image) and
the target unit's activation on each.  The check fails when a panel's SSIM is
below the threshold.
"""
import argparse
import json
import math
import os
import tempfile
from collections import namedtuple

import numpy as np
from skimage.feature import match_template
from skimage.metrics import structural_similarity

from . import collage, models, nets
from .actmax import MEAN
from .cli import UserError, setting
from .image import imread

Score = namedtuple("Score", "file unit ssim ours published")


def published_dir():
    """Where the registry puts the published images of the DGN-AM examples."""
    return os.path.join(setting("nets_dir"), "data", "examples", "synthesizing")


def load_manifest(collage_path):
    """The manifest beside a collage, its panel files made absolute."""
    path = os.path.splitext(collage_path)[0] + ".json"
    try:
        with open(path) as f:
            manifest = json.load(f)
    except OSError:
        raise UserError(f"{path} not found: run the example script that makes {collage_path} first") from None
    folder = os.path.dirname(os.path.abspath(path))
    for panel in manifest["panels"]:
        panel["file"] = os.path.join(folder, panel["file"])
    return manifest


def our_panel(path, size):
    """The image in one of our (labelled) panel files: `size` at its top centre."""
    image = imread(path)[..., :3]
    left = (image.shape[1] - size[1]) // 2
    return image[:size[0], left:left + size[1]]


def find_panel(sheet, panel, index, grid):
    """Panel number `index` of the published `sheet` (a grid of `grid` =
    (columns, rows) cells): the place within half a cell of its cell that best
    matches our `panel`.  Searching absorbs the published montage's own label
    heights and trimming."""
    columns, rows = grid
    row, column = divmod(index, columns)
    cell_h, cell_w = sheet.shape[0] / rows, sheet.shape[1] / columns
    top, left = max(0, int((row - 0.5) * cell_h)), max(0, int((column - 0.5) * cell_w))
    region = sheet[top:int((row + 1.5) * cell_h), left:int((column + 1.5) * cell_w)]
    h, w = panel.shape[:2]
    if region.shape[0] < h or region.shape[1] < w:
        raise UserError(f"the published image ({sheet.shape[1]}x{sheet.shape[0]}) has no room for "
                        f"{columns}x{rows} panels of {w}x{h}")
    match = match_template(region.mean(axis=2), panel.mean(axis=2))
    y, x = np.unravel_index(np.argmax(match), match.shape)
    return sheet[top + y:top + y + h, left + x:left + x + w]


def activation(net, panel, layer, unit, xy, offset):
    """`unit`'s activation in `layer` (at (xy, xy) for conv layers) with the RGB
    `panel` at `offset` in the net's input, mean-subtracted as act_max.py's
    classifier expects; the rest of the input is the mean (zero)."""
    data = np.zeros(net.blobs["data"].data.shape, dtype=np.float32)
    h, w = panel.shape[:2]
    if offset[0] + h > data.shape[2] or offset[1] + w > data.shape[3]:
        raise UserError(f"a {w}x{h} panel at {offset} does not fit the net's {data.shape[3]}x{data.shape[2]} input")
    bgr = panel[:, :, ::-1].astype(np.float32) - MEAN
    data[0, :, offset[0]:offset[0] + h, offset[1]:offset[1] + w] = bgr.transpose(2, 0, 1)
    acts = net.forward(data=data, end=layer)[layer][0]
    return float(acts[unit, xy, xy] if acts.ndim == 3 else acts.flat[unit])


def compare(collage_path, published_path, picture_path):
    """Score every panel of our collage against the published image; write
    the side-by-side picture; return the scores."""
    manifest = load_manifest(collage_path)
    sheet = imread(published_path)[..., :3]
    net = nets.load(manifest["net_definition"], manifest["net_weights"])
    columns = manifest["tile"][0]
    grid = (columns, math.ceil(len(manifest["panels"]) / columns))
    scores, pairs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index, panel in enumerate(manifest["panels"]):
            ours = our_panel(panel["file"], manifest["panel_size"])
            theirs = find_panel(sheet, ours, index, grid)
            score = Score(panel["file"], panel["unit"], structural_similarity(ours, theirs, channel_axis=2),
                          *(activation(net, image, manifest["layer"], panel["unit"], manifest["xy"],
                                       manifest["panel_offset"]) for image in (ours, theirs)))
            scores.append(score)
            pair = side_by_side(ours, theirs)
            pairs.append(collage.label_below(pair, "SSIM %.2f  act %.1f | %.1f" % score[2:],
                                             out=os.path.join(tmp, "%04d.png" % index),
                                             pointsize=min(30, max(8, pair.shape[1] // 16))))
        collage.montage(pairs, picture_path, tile=(columns, manifest["tile"][1]), border=4)
    return scores


def side_by_side(left, right, gap=4):
    """Two HxWx3 uint8 images next to each other with a white gap."""
    white = np.full((left.shape[0], gap, 3), 255, dtype=np.uint8)
    return np.concatenate([left, white, right], axis=1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collages", nargs="+", help="collages made by the example scripts, e.g. output/example1.jpg")
    parser.add_argument("--published_dir", default=None,
                        help="folder of the published images (default: NETS_DIR/data/examples/synthesizing)")
    parser.add_argument("--threshold", type=float, default=0.3, help="lowest SSIM a panel may have")
    parser.add_argument("--offline", action="store_true", help="never download a missing published image")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    folder = args.published_dir or published_dir()
    failed = 0
    for path in args.collages:
        published = os.path.join(folder, os.path.basename(path))
        models.require([published], offline=args.offline)
        picture = os.path.splitext(path)[0] + "_vs_published.jpg"
        scores = compare(path, published, picture)
        for score in scores:
            print("%-40s unit %4d  SSIM %.3f  act ours %8.2f  published %8.2f%s" % (
                os.path.basename(score.file), score.unit, score.ssim, score.ours, score.published,
                "  < %.2f" % args.threshold if score.ssim < args.threshold else ""))
        low = sum(score.ssim < args.threshold for score in scores)
        print("%s: mean SSIM %.3f, %d of %d panels below %.2f; side by side: %s" % (
            path, np.mean([score.ssim for score in scores]), low, len(scores), args.threshold, picture))
        failed += low
    return 1 if failed else 0
