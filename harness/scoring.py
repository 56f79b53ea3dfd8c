"""Our example pictures beside the published ones.

Every example script, DGN-AM and PPGN alike, writes a manifest beside the
picture it makes (output/example1.json beside output/example1.jpg; beside a
PPGN chain, chain_13_hx_1e-5_noise_1e-17__0.json): the panel files and their
tiling, the published picture the example remakes and how that one is laid
out, the units, and the net to score them on.  This reads the manifest,
fetches the published picture through the registry, pairs our panels with
the published ones and writes <picture>_vs_published.jpg: every pair side by
side, under it their SSIM (scikit-image) and the target unit's activation on
each.  The check fails when a pair's SSIM is below the threshold, or no
better than a blank picture's or noise's against the same published panel.

How the published picture's panels are paired with ours (its "layout"):
  grid CxR  our panel i with the published cell i, searched for within half
            a cell (absorbs other label heights and trimming)
  any CxR   the published panels are an unordered set (a random pick): each
            of ours with the most similar published cell
  whole     the correspondence is unknown: our whole picture with the
            published one resized to its size
"""
import os
import tempfile
from collections import namedtuple

import numpy as np
from skimage.feature import match_template
from skimage.metrics import structural_similarity

from harness.manifests import load_manifest, parse_layout, published_of
from prefinput import collage
from prefinput.cli import ArgumentParser, FiniteFloat
from prefinput.environment import setting
from prefinput.errors import UserError
from prefinput.image import imread, imresize
from prefinput.netdefs import loading
from prefinput.registry import fetching
from prefinput.steps import input_blob, unit_values

# `floor`: the best SSIM a blank picture (the published panel's mean colour) or
# noise scores against the same published panel; a panel must beat it, or its
# score says nothing (a solid picture beside a solid one scores 1).
Score = namedtuple("Score", "file unit ssim ours published floor")
SSIM_SIDE = 7  # structural_similarity's window: the least side of a picture it compares

# The unit each published picture shows in each cell, in its order (from the
# originals' example scripts): panels are paired by unit, never by position
# alone.  A caption sheet has none; a picture not listed: paired by position.
PUBLISHED_UNITS = {
    "synthesizing/example1.jpg": [643, 624, 304, 629, 437],
    "synthesizing/example2.jpg": [2, 7, 8, 12, 71],
    "synthesizing/example3.jpg": [945] * 200,
    "synthesizing/example4.jpg": [8, 55, 154, 181, 45],
    "synthesizing/example5.jpg": [643, 624, 304, 629, 437],
    "ppgn/example1.jpg": [13] * 40,
    "ppgn/hidden_faces.jpg": [196] * 30,
    "ppgn/hidden_food.jpg": [182] * 30,
    "ppgn/example6.jpg": [980] * 30,
    "ppgn/example7.jpg": [980] * 10,
}


# --- our panels and theirs --------------------------------------------------

def read_picture(path, what):
    """The colour picture at `path` (HxWx3, without alpha), or one line naming
    it as `what` where it is unreadable, grey or too small for SSIM's window."""
    pixels = imread(path, what)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise UserError(f"{what} {path}: a grey picture (shape {pixels.shape}), not colour; convert it first, e.g. "
                        f"convert {path} -type TrueColor rgb.png")
    if min(pixels.shape[:2]) < SSIM_SIDE:
        raise UserError(f"{what} {path}: {pixels.shape[1]}x{pixels.shape[0]} pixels, too small to compare (SSIM "
                        f"needs {SSIM_SIDE}x{SSIM_SIDE}); give the full-size picture")
    return pixels[..., :3]


def our_panel(path, size):
    """The image in one of our (labelled) panel files: `size` at its top centre."""
    image = read_picture(path, "the panel")
    left = (image.shape[1] - size[1]) // 2
    return image[:size[0], left:left + size[1]]


def no_room(sheet, grid, size):
    return UserError(f"the published image ({sheet.shape[1]}x{sheet.shape[0]}) has no room for "
                     f"{grid[0]}x{grid[1]} panels of {size[1]}x{size[0]}")


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
        raise no_room(sheet, grid, panel.shape)
    match = match_template(region.mean(axis=2), panel.mean(axis=2))
    y, x = np.unravel_index(np.argmax(match), match.shape)
    return sheet[top + y:top + y + h, left + x:left + x + w]


def cells(sheet, grid, size):
    """The panels of a montage of evenly sized cells: the centre `size` of each."""
    columns, rows = grid
    cell_h, cell_w = sheet.shape[0] / rows, sheet.shape[1] / columns
    if cell_h < size[0] or cell_w < size[1]:
        raise no_room(sheet, grid, size)
    top, left = int((cell_h - size[0]) / 2), int((cell_w - size[1]) / 2)
    return [sheet[int(row * cell_h) + top:int(row * cell_h) + top + size[0],
                  int(column * cell_w) + left:int(column * cell_w) + left + size[1]]
            for row in range(rows) for column in range(columns)]


def ssim(ours, theirs):
    return structural_similarity(ours, theirs, channel_axis=2)


def floor_of(theirs):
    """What a blank picture (`theirs`' mean colour) or noise scores against `theirs`."""
    blank = np.broadcast_to(theirs.mean(axis=(0, 1)).round().astype(np.uint8), theirs.shape)
    noise = np.random.RandomState(0).randint(0, 256, theirs.shape).astype(np.uint8)
    return max(ssim(blank, theirs), ssim(noise, theirs))


def pair_score(file, unit, ours, theirs, acts=(None, None)):
    """The Score of the pair (ours, theirs), with the activations `acts` on each."""
    return Score(file, unit, ssim(ours, theirs), *acts, floor_of(theirs))


def most_similar(panel, candidates):
    """The candidate with the highest SSIM to `panel`."""
    return max(candidates, key=lambda candidate: ssim(panel, candidate))


def published_cells(manifest, published):
    """cells_by_unit, and none for a panel of a sum of units (an --objective): no published picture shows one."""
    cells = cells_by_unit(manifest, published)
    return [[] if panel.get("objective") else allowed for panel, allowed in zip(manifest["panels"], cells)]


def cells_by_unit(manifest, published):
    """For each of our panels, the published cells it may be paired with: those
    showing its unit (the k-th panel of a unit gets that unit's k-th cell in a
    grid); [] where the published picture does not show the unit.  Units of the
    published picture unknown: by position."""
    columns, rows = published["tile"]
    units = PUBLISHED_UNITS.get(published.get("image"))
    ours = [panel["unit"] for panel in manifest["panels"]]
    if units is None or all(unit is None for unit in ours):
        return [[index] if published["layout"] == "grid" else list(range(columns * rows))
                for index in range(len(ours))]
    matching = [[cell for cell, shown in enumerate(units) if shown == unit] for unit in ours]
    if published["layout"] == "any":
        return matching
    return [cells_of_unit[ours[:index].count(ours[index]):][:1] for index, cells_of_unit in enumerate(matching)]


def panel_pairs(manifest, sheet, published):
    """(ours, theirs) for each of our panels, paired by unit as the published
    layout says; theirs None where the published picture does not show it."""
    ours = [our_panel(panel["file"], manifest["panel_size"]) for panel in manifest["panels"]]
    columns, rows = published["tile"]
    chosen = published_cells(manifest, published)
    if published["layout"] == "any":
        candidates = cells(sheet, (columns, rows), manifest["panel_size"])
        return [(image, most_similar(image, [candidates[cell] for cell in allowed]) if allowed else None)
                for image, allowed in zip(ours, chosen)]
    if any(cell >= columns * rows for allowed in chosen for cell in allowed):
        raise UserError(f"{manifest['collage']} has {len(ours)} panels, the published {columns}x{rows} grid "
                        f"{columns * rows}: compare with --layout any:{columns}x{rows} or --layout whole")
    return [(image, find_panel(sheet, image, allowed[0], (columns, rows)) if allowed else None)
            for image, allowed in zip(ours, chosen)]


# --- scores -----------------------------------------------------------------

def activation(net, panel, layer, unit, xy, offset):
    """`unit`'s activation in blob `layer` (at (xy, xy) where spatial) with the RGB
    `panel` at `offset` in the net's input, mean-subtracted as act_max.py's
    classifier expects; the rest of the input is the mean (zero)."""
    data = np.zeros(net.blobs[input_blob(net)].data.shape, dtype=np.float32)
    h, w = panel.shape[:2]
    if offset[0] + h > data.shape[2] or offset[1] + w > data.shape[3]:
        raise UserError(f"a {w}x{h} panel at {offset} does not fit the net's {data.shape[3]}x{data.shape[2]} input")
    bgr = panel[:, :, ::-1].astype(np.float32) - loading.CLASSIFIER_MEAN
    data[0, :, offset[0]:offset[0] + h, offset[1]:offset[1] + w] = bgr.transpose(2, 0, 1)
    net.forward(**{input_blob(net): data}, end=loading.layer_of(net, layer))
    return float(unit_values(net.blobs[layer].data[0], xy)[unit])


def unit_activation(net, panel, unit, manifest):
    """The activation the manifest's example targets, on the part of `panel`
    the net sees (its "act_region" [top, left, height, width]; all of it by
    default)."""
    top, left, height, width = manifest.get("act_region") or (0, 0) + panel.shape[:2]
    return activation(net, panel[top:top + height, left:left + width], manifest["layer"], unit,
                      manifest["xy"], manifest["panel_offset"])


def scores_of(manifest, pairs, panels):
    """SSIM of each pair, and the target unit's activation on both where the
    example has a target unit (a caption has none)."""
    net = None
    if manifest.get("layer"):
        fetching.require([manifest["net_definition"], manifest["net_weights"]])
        net = loading.load(manifest["net_definition"], manifest["net_weights"])
    scores = []
    for (ours, theirs), panel in zip(pairs, panels):
        unit = panel.get("objective") or panel["unit"]
        if theirs is None:  # the published picture does not show this unit: nothing to score against
            scores.append(Score(panel["file"], unit, None, None, None, None))
            continue
        scored = net is not None and unit is not None
        acts = [unit_activation(net, image, unit, manifest) if scored else None for image in (ours, theirs)]
        scores.append(pair_score(panel["file"], unit, ours, theirs, acts))
    return scores


def compare(picture_path, published_path, out_path, published=None):
    """Score our picture against the published one (`published`: its layout;
    default the manifest's); write the side-by-side picture to `out_path`;
    return the scores."""
    manifest = None if published and published["layout"] == "whole" else load_manifest(picture_path)
    published = published or published_of(manifest)
    sheet = read_picture(published_path, "the published picture")
    if published["layout"] == "whole":
        ours = read_picture(picture_path, "the picture")
        pairs = [(ours, imresize(sheet, ours.shape[:2]))]
        scores, tile = [pair_score(picture_path, None, *pairs[0])], (1, 1)
    else:
        pairs = panel_pairs(manifest, sheet, published)
        scores, tile = scores_of(manifest, pairs, manifest["panels"]), manifest["tile"]
    write_picture(pairs, scores, out_path, tile)
    return scores


def write_picture(pairs, scores, out_path, tile):
    """Each pair side by side with its scores below, tiled as our picture."""
    with tempfile.TemporaryDirectory() as tmp:
        labelled = []
        for index, ((ours, theirs), score) in enumerate(zip(pairs, scores)):
            pair = side_by_side(ours, np.full_like(ours, 255) if theirs is None else theirs)
            text = "unit %s: not published" % score.unit if score.ssim is None else "SSIM %.2f" % score.ssim
            if score.ours is not None:
                text += "  act %.1f | %.1f" % (score.ours, score.published)
            labelled.append(collage.label_below(pair, text, out=os.path.join(tmp, "%04d.png" % index),
                                                pointsize=min(30, max(8, pair.shape[1] // 16))))
        collage.montage(labelled, out_path, tile=tile, border=4)


def side_by_side(left, right, gap=4):
    """Two HxWx3 uint8 images next to each other with a white gap."""
    white = np.full((left.shape[0], gap, 3), 255, dtype=np.uint8)
    return np.concatenate([left, white, right], axis=1)


# --- command line -------------------------------------------------------------

def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0], epilog=(
        "Environment: NETS_DIR (where models live), PREFINPUT_OFFLINE=1 (never download), PREFINPUT_MIRROR, GPU=1.  "
        "Downloads on first use, where missing (nets/download.sh NAME): examples (the published pictures) and the "
        "net a manifest names to score units on (e.g. caffenet)."))
    parser.add_argument("pictures", nargs="+", metavar="picture",
                        help="pictures made by the example scripts (with their .json manifest beside them), "
                             "e.g. output/example1.jpg")
    parser.add_argument("--published_dir", default=None,
                        help="folder holding the published pictures, by name "
                             "(default: where the registry puts them, NETS_DIR/data/examples/<repository>)")
    parser.add_argument("--published", default=None,
                        help="compare with this picture instead (layout: --layout, default whole)")
    parser.add_argument("--layout", type=parse_layout, default=None,
                        help="the published picture's layout instead of the manifest's: whole, grid:CxR or any:CxR")
    parser.add_argument("--threshold", action=FiniteFloat, default=0.3, help="lowest SSIM a panel may have")
    parser.add_argument("--offline", action="store_true", help="never download a missing published image")
    args = parser.parse_args(argv)
    if args.published and len(args.pictures) > 1:
        parser.error("--published goes with one picture")
    return args


def published_for(path, published_file=None, layout=None, published_dir=None):
    """(the published picture's file, its layout) to compare `path` with:
    `published_file` if given, else the one its manifest names (under
    `published_dir`, or where the registry puts it); `layout` overrides the
    manifest's."""
    if published_file:
        return published_file, layout or {"layout": "whole"}
    published = published_of(load_manifest(path))
    if published is None:
        raise UserError(f"{path}: the original published no picture of this example; "
                        "name one with --published FILE (and --layout)")
    image = published["image"]
    file = os.path.join(published_dir, os.path.basename(image)) if published_dir else \
        os.path.join(setting("nets_dir"), "data", "examples", image)
    return file, dict(published, **(layout or {}))


def report(path, published, file, scores, threshold):
    """Print a line per panel and a summary; return how many panels fail."""
    layout = published["layout"] + (":%dx%d" % tuple(published["tile"]) if "tile" in published else "")
    print("%s vs %s (%s)%s" % (path, file, layout, ": " + published["shows"] if "shows" in published else ""))
    for score in scores:
        if score.ssim is None:
            print("%-40s unit %4s  not in the published picture: not scored" % (os.path.basename(score.file),
                                                                              score.unit))
            continue
        print("%-40s unit %4s  SSIM %.3f  act ours %8s  published %8s%s" % (
            os.path.basename(score.file), number(score.unit, "%d"), score.ssim, number(score.ours, "%.2f"),
            number(score.published, "%.2f"), shortfall(score, threshold)))
    scored = [score for score in scores if score.ssim is not None]
    low = sum(score.ssim < threshold for score in scored)
    no_better = sum(threshold <= score.ssim <= score.floor for score in scored)
    unshown = len(scores) - len(scored)
    print("%s: mean SSIM %s, %d of %d panels below %.2f%s%s; side by side: %s" % (
        path, number(np.mean([score.ssim for score in scored]) if scored else None, "%.3f"), low, len(scored),
        threshold, ", %d no better than a blank or noise picture" % no_better if no_better else "",
        ", %d not in the published picture (not scored)" % unshown if unshown else "", picture_name(path)))
    return low + no_better


def shortfall(score, threshold):
    """Why a scored panel fails ('' where it passes): its SSIM is below the
    threshold, or no better than a blank or noise picture's (its floor)."""
    if score.ssim < threshold:
        return "  < %.2f" % threshold
    if score.ssim <= score.floor:
        return "  <= %.2f, what a blank or noise picture scores" % score.floor
    return ""


def number(value, form):
    """`value` printed with `form`, or "-" where there is none."""
    return "-" if value is None else form % value


def picture_name(path):
    return os.path.splitext(path)[0] + "_vs_published.jpg"


def main(argv=None):
    args = parse_args(argv)
    failed = 0
    for path in args.pictures:
        file, published = published_for(path, args.published, args.layout, args.published_dir)
        fetching.require([file], offline=args.offline)
        scores = compare(path, file, picture_name(path), published)
        failed += report(path, published, file, scores, args.threshold)
    return 1 if failed else 0
