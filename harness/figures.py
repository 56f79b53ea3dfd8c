"""The example scripts' pictures, made from the files the programs return:
labels, crops, collages, chains of samples, GIFs and sample sheets through
Wand (once shell commands); their manifests are harness/manifests.py's.

    label_of(643, "synset", read_labels(path))     -> "pickelhaube"
    crop_receptive_field(path)                      convert f -crop 163x163+32+32 +repage f (scaled)
    rows_montage(paths, out, 10)                    montage PATHS -tile 10x -geometry +1+1 OUT
    write_gif(paths, out)                           convert PATHS -delay 5 -loop 0 OUT

examples/driver.py runs a program and calls these; nothing here finds files
by globbing a folder, so stale files of an earlier run never get in.
"""
import wand.version
from wand.image import Image

from prefinput import collage, objectives
from prefinput.errors import UserError
from prefinput.files import atomic_path, check_output_file

# conv5 receptive field at a 227x227 input (PPGN scripts 3 and 4: convert -crop 163x163+32+32)
RF_SIZE, RF_OFFSET, RF_IMAGE = 163, 32, 227
CHAIN_COLUMNS = 10  # montage -tile 10x
GIF_DELAY = 5       # convert -delay 5 (hundredths of a second)


# --- labels -----------------------------------------------------------------

def read_labels(path):
    """The lines of a label file, blank ones skipped (as bash's `read -a` did)."""
    with open(path) as f:
        return [line.rstrip("\r\n") for line in f if line.strip()]


def label_of_result(result, style, lines):
    """The text under a result's image: its unit's label, or for a sum of
    units (an --objective) each term's label with its sign and weight."""
    if result.unit is not None or not result.objective:
        return label_of(result.unit, style, lines)
    objective = objectives.parse(result.objective)
    if style == "unit":
        return str(objective)
    return objective.named(lambda term: label_of(term.unit, style, lines) if term.unit < len(lines) else None)


def label_of(unit, style, lines):
    """The text under a unit's image: 'unit' its number; 'synset' words 2-3
    before the first comma ("n07720875 bell pepper" -> "bell pepper");
    'places' the first word with its first '_' a space ("art_gallery 8")."""
    if style == "unit":
        return str(unit)
    if style == "synset":
        return " ".join(lines[unit].split(",")[0].split(" ")[1:3]).strip()
    return lines[unit].split(" ")[0].replace("_", " ", 1)


# --- geometry -----------------------------------------------------------------

def receptive_field(width):
    """((height, width), (top, left)) of the receptive field's crop of a sample `width` wide."""
    size, offset = RF_SIZE * width // RF_IMAGE, RF_OFFSET * width // RF_IMAGE
    return (size, size), (offset, offset)


def crop_receptive_field(path):
    """convert f -crop 163x163+32+32 +repage f, scaled to the sample's size."""
    with Image(filename=path) as picture:
        (size, _), (offset, _) = receptive_field(picture.width)
    collage.crop(path, size, size, offset, offset)


# --- montages and animations ---------------------------------------------------

def rows_montage(paths, out, columns):
    """montage PATHS -tile Cx -geometry +1+1 OUT: as many rows as needed, untrimmed."""
    tile = collage.grown_tile((columns, 0), len(paths))
    collage.montage(paths, out, tile=tile, border=1, trim=False)
    return tile


def check_picture(path, flag):
    """Stop with one line unless ImageMagick can write the picture `path`:
    a writable folder and a format it knows by the extension."""
    check_output_file(path, flag, {"." + name.lower() for name in wand.version.formats()})


def check_crop(crop, size):
    """Stop with one line unless `crop` (W, H, X, Y) lies inside images of `size` (height, width)."""
    width, height, x, y = crop
    if not (0 <= x and 0 <= y and x + width <= size[1] and y + height <= size[0]):
        raise UserError(f"--crop {width}x{height}+{x}+{y}: not inside the {size[1]}x{size[0]} images (the net's "
                        "input); give a crop within them")


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
