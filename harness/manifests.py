"""The manifests: beside each picture an example makes, <picture>.json names
its panel files and their tiling, the units, the net to score them on and
the published picture it remakes (how that one is laid out); regression.py
reads them (harness/scoring.py)."""
import argparse
import json
import math
import os
import re

from prefinput.collage import parse_tile
from prefinput.errors import UserError
from prefinput.files import atomic_path


# The figures of the PPGN README that its examples remake, under the
# registry's data/examples/: example number -> (picture, how its panels pair
# with ours (see harness/scoring.py), what it shows).  Example 2 was
# published only as GIFs.  (DGN-AM's examples remake synthesizing/<collage>.)
PUBLISHED_PPGN = {
    1: ("ppgn/example1.jpg", "grid:10x4", "class 13 (junco): the first 40 samples of a chain"),
    3: ("ppgn/hidden_faces.jpg", "any:10x3", "conv5 unit 196 of CaffeNet (faces): 30 samples picked at random"),
    4: ("ppgn/hidden_food.jpg", "any:10x3", "conv5 unit 182 of AlexNet on Places205 (food): 30 random samples"),
    5: ("ppgn/a_church_steeple_that_has_a_clock_on_it.jpg", "grid:3x1", "the caption in its name, seeds 0-2"),
    6: ("ppgn/example6.jpg", "grid:10x3", "class 980 (volcano) from volcano.jpg: the first 30 samples"),
    7: ("ppgn/example7.jpg", "grid:5x2", "class 980 (volcano): holes filled in, seeds 0-9"),
}


# cnn-vis's gallery pictures the registry holds (data/examples/cnn-vis/exampleN.png)
CNNVIS_PUBLISHED = range(5, 14)


def published_ppgn(example):
    """The manifest's entry for the published picture of PPGN `example` (None if there is none)."""
    if example not in PUBLISHED_PPGN:
        return None
    image, layout, shows = PUBLISHED_PPGN[example]
    return {"image": image, **parse_layout(layout), "shows": shows}


def published_cnnvis(picture):
    """The manifest's entry for the cnn-vis gallery picture an example's
    output `picture` (exampleN.png) remakes, None for any other name."""
    match = re.fullmatch(r"example(\d+)\.png", os.path.basename(picture))
    if not match or int(match.group(1)) not in CNNVIS_PUBLISHED:
        return None
    return {"image": "cnn-vis/" + match.group(0), "layout": "whole",
            "shows": f"cnn-vis gallery example {match.group(1)}"}


def write_picture_manifest(picture, unit, size, **published):
    """The manifest of a one-picture result (cnn-vis, cnnpref): the whole
    `picture` (`size` = (height, width)) is the one panel, not scored on a
    net; `published=` as in write_manifest."""
    return write_manifest(picture, (1, 1), [picture], [unit], size, **published)


def write_manifest(picture, tile, panels, units, panel_size, panel_offset=(0, 0), net=None, layer=None, xy=0,
                   act_region=None, **published):
    """Beside `picture` (a montage of the `panels` files, `tile` = (columns,
    rows)): what regression.py needs to pair and score the panels (the top
    centre `panel_size` of each file, at `panel_offset` in the input of `net`
    = (definition, weights), whose blob `layer` has the units; no net: not
    scored).  `published=` names the published picture it remakes (None:
    there is none; not given: synthesizing/<picture's name>)."""
    definition, weights = (os.path.abspath(path) for path in net) if net else (None, None)
    return save_manifest(picture, {
        "tile": list(tile),
        **published,
        "net_definition": definition,
        "net_weights": weights,
        "layer": layer if net else None,
        "xy": xy,
        "panel_size": [int(n) for n in panel_size],
        "panel_offset": [int(n) for n in panel_offset],
        "act_region": act_region,
        "panels": [panel_entry(path, unit) for path, unit in zip(panels, units)],
    })


def panel_entry(path, unit):
    """A manifest's panel: its file and unit; a sum of units (an objective's
    text, a str) as "objective", with no unit: no published picture shows it."""
    if isinstance(unit, str):
        return {"file": path, "unit": None, "objective": unit}
    return {"file": path, "unit": None if unit is None else int(unit)}


def save_manifest(picture_path, manifest):
    """Write `manifest` (panel files as paths) to <picture minus extension>.json
    beside the picture, the panel files relative to it."""
    folder = os.path.dirname(os.path.abspath(picture_path))
    panels = [dict(panel, file=os.path.relpath(os.path.abspath(panel["file"]), folder))
              for panel in manifest["panels"]]
    path = os.path.splitext(os.path.abspath(picture_path))[0] + ".json"
    with atomic_path(path) as temporary, open(temporary, "w") as f:
        json.dump({"collage": os.path.basename(picture_path), **manifest, "panels": panels}, f, indent=1)
    return path


def load_manifest(picture_path):
    """The manifest beside a picture, its panel files made absolute."""
    path = os.path.splitext(picture_path)[0] + ".json"
    try:
        with open(path) as f:
            manifest = json.load(f)
    except OSError:
        raise UserError(f"{path} not found: run the example script that makes {picture_path} first") from None
    folder = os.path.dirname(os.path.abspath(path))
    for panel in manifest["panels"]:
        panel["file"] = os.path.join(folder, panel["file"])
    return manifest


def published_of(manifest):
    """The published picture the manifest's example remakes, None where the
    original published none.  A manifest that names nothing (DGN-AM's) means
    the synthesizing picture of its own name, laid out as ours."""
    if "published" in manifest:
        return manifest["published"]
    columns = manifest["tile"][0]
    return {"image": "synthesizing/" + manifest["collage"], "layout": "grid",
            "tile": [columns, math.ceil(len(manifest["panels"]) / columns)]}


def parse_layout(text):
    """'whole', 'grid:10x4' or 'any:20x20' -> {"layout": ..., "tile": [C, R]}"""
    name, _, tile = text.partition(":")
    if name == "whole" and not tile:
        return {"layout": "whole"}
    try:
        if name in ("grid", "any"):
            return {"layout": name, "tile": list(parse_tile(tile))}
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected whole, grid:CxR or any:CxR (e.g. grid:10x4), not {text!r}")
