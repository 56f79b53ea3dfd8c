"""Labels, crops and montages through ImageMagick (Wand), as the original
example scripts made them with `convert` and `montage`, but without building
shell commands from file names.

    label_below(path, "bell pepper")        convert f -gravity south -splice 0x10 f
                                             convert f -append -gravity Center
                                                 -pointsize 30 label:"..." -append f
    crop(path, 163, 163, 32, 32)            convert f -crop 163x163+32+32 +repage f
    montage(paths, out, tile=(5, 1))        montage ... -tile 5x1 -geometry +1+1 out
                                             convert out -trim out

Every function writes its output atomically; without `out` it rewrites the
input in place, like the originals.
"""
import math
import os

import numpy as np
from wand.api import library
from wand.color import Color
from wand.image import Image

from prefinput.files import atomic_path

# ImageMagick's default font (Helvetica) needs Ghostscript's fonts; DejaVu
# comes with fonts-dejavu-core.  LABEL_FONT overrides it (a name or a file).
FONT = os.environ.get("LABEL_FONT", "DejaVu-Sans")
WHITE = Color("white")


def open_image(image):
    """A Wand image of a file path or of an HxWx3 uint8 array."""
    if isinstance(image, np.ndarray):
        return Image.from_array(np.ascontiguousarray(image))
    return Image(filename=os.fspath(image))


def text_image(text, pointsize=30, font=FONT):
    """ImageMagick's `label:` image of `text`: black on white, as tall as the font."""
    label = Image()
    label.font_path = font
    label.font_size = pointsize
    label.background_color = WHITE
    # `label:` expands %-escapes and reads a file named after a leading '@'
    escaped = text.replace("%", "%%")
    label.read(filename="label:" + ("\\" + escaped if escaped.startswith("@") else escaped))
    return label


def stack(top, bottom, gap=0):
    """`top` above `bottom` with `gap` white rows between, both centred like
    `-gravity Center -append` (the narrower one starts at floor((W - w) / 2))."""
    width = max(top.width, bottom.width)
    canvas = Image(width=width, height=top.height + gap + bottom.height, background=WHITE)
    canvas.composite(top, left=(width - top.width) // 2, top=0)
    canvas.composite(bottom, left=(width - bottom.width) // 2, top=top.height + gap)
    return canvas


def label_below(image, text, out=None, pointsize=30, gap=10, font=FONT):
    """Write `image` (a path or an HxWx3 uint8 array) with `text` centred
    below it, after `gap` white rows, to `out` (default: the input path)."""
    if out is None:
        if isinstance(image, np.ndarray):
            raise ValueError("label_below needs `out` for an array")
        out = image
    with open_image(image) as picture, text_image(text, pointsize, font) as label:
        with stack(picture, label, gap) as labelled:
            labelled.compression_quality = picture.compression_quality  # convert keeps a JPEG's quality
            save(labelled, out)
    return out


def crop(image, width, height, x, y, out=None):
    """Cut the `width` x `height` region at (x, y) out of the image file
    `image` (clipped to the image, as `-crop WxH+X+Y +repage` does)."""
    with Image(filename=os.fspath(image)) as picture:
        picture.crop(left=x, top=y, width=min(width, picture.width - x), height=min(height, picture.height - y))
        save(picture, out or image)
    return out or image


def montage(images, out, tile=(5, 1), border=1, trim=True):
    """Tile `images` (paths or arrays) `tile`=(columns, rows) with `border`
    white pixels around each, like `montage -tile CxR -geometry +B+B`, and
    save one picture to `out` (rows are added when `tile` holds fewer images:
    ImageMagick would make a page, and write a file, per full tile); then,
    if `trim`, trim its white edges as `convert out -trim out` did (on the
    saved file, so a lossy format's artefacts stop the trim where they
    stopped the original's).  `out` changes only once the whole is written."""
    with Image() as sheet:
        for image in images:
            with open_image(image) as picture:
                sheet.image_add(picture)
        sheet.background_color = WHITE
        # counted as frames: an animated GIF given adds all of its own
        sheet.montage(tile="%dx%d" % grown_tile(tile, len(sheet.sequence)), thumbnail="+%d+%d" % (border, border))
        with atomic_path(out) as temporary:
            write(sheet, temporary)
            if trim:
                with Image(filename=temporary) as saved:
                    # ImageMagick's own trim (each edge against its corner's colour);
                    # Wand's trim() compares every edge with the top-left pixel only.
                    library.MagickTrimImage(saved.wand, 0.0)
                    saved.reset_coords()
                    write(saved, temporary)
    return out


def grown_tile(tile, count):
    """(columns, rows) of `tile` with rows added until it holds `count` images, as `montage -tile Cx` grows."""
    columns, rows = tile
    return columns, max(rows, math.ceil(count / columns))


def save(picture, path):
    """Save a Wand image to `path`, format from the extension, atomically."""
    with atomic_path(path) as temporary:
        write(picture, temporary)


def write(picture, path):
    """Save a one-frame Wand image (several frames would be several files
    in a one-picture format such as JPEG, `path` itself left empty)."""
    if len(picture.sequence) != 1:
        raise ValueError(f"{path}: {len(picture.sequence)} frames to write as one picture")
    picture.save(filename=path)


def parse_tile(text):
    """'5x1' -> (5, 1)"""
    try:
        columns, rows = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected COLUMNSxROWS, e.g. 5x1, not {text!r}") from None
    return columns, rows


def parse_crop(text):
    """'163x163+32+32' -> (163, 163, 32, 32): width, height, x, y"""
    try:
        size, x, y = text.split("+")
        width, height = parse_tile(size)
        return width, height, int(x), int(y)
    except ValueError:
        raise ValueError(f"expected WIDTHxHEIGHT+X+Y, e.g. 163x163+32+32, not {text!r}") from None
