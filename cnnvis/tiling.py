"""How cnn_vis.py covers a large image with the net's small input: sizes
of the multiscale schedule, and overlapping input-sized regions split into
two interleaved sets.

Along each axis the regions are the fewest evenly spaced windows that start
at 0, end at the edge, leave no pixel out and overlap only their neighbours.
In two dimensions the regions form a checkerboard: the "even" squares never
overlap each other except at corners, so one set's gradients can be taken
together before any of them moves the image.
"""
import numpy as np

MAX_REGIONS_PER_AXIS = 1000


def get_ranges(total_length, region_length, num):
    """`num` evenly spaced (start, end) windows of region_length over total_length.

    Starts are rounded with Python 3's round (halves to even), as in the
    goldens; Python 2 sent halves away from zero (see docs/cnn-vis.md)."""
    starts = [int(round(s)) for s in np.linspace(0, total_length - region_length, num)]
    return [(s, s + region_length) for s in starts]


def check_ranges(total_length, ranges):
    """Whether sorted (start, end) ranges tile 0..total_length: distinct,
    gap-free, and each overlapping at most its next neighbour."""
    if ranges[0][0] != 0 or ranges[-1][1] != total_length:
        return False
    for i, (start, end) in enumerate(ranges):
        if i + 1 < len(ranges) and (start == ranges[i + 1][0] or end < ranges[i + 1][0]):
            return False
        if i + 2 < len(ranges) and end >= ranges[i + 2][0]:
            return False
    return True


def get_best_ranges(total_length, region_length):
    """The first valid tiling, trying 1, 2, 3 ... windows."""
    for num in range(1, MAX_REGIONS_PER_AXIS + 2):
        ranges = get_ranges(total_length, region_length, num)
        if check_ranges(total_length, ranges):
            return ranges
    raise ValueError('no tiling of %d pixels by windows of %d' % (total_length, region_length))


def get_regions(total_size, region_size):
    """Regions (y0, y1, x0, x1) covering total_size (H, W), as the two
    interleaved sets (even, odd) of the checkerboard, columns outermost."""
    print('total_size: ', total_size)
    print('region_size: ', region_size)
    y_ranges = get_best_ranges(total_size[0], region_size[0])
    x_ranges = get_best_ranges(total_size[1], region_size[1])
    regions_even, regions_odd = [], []
    for i, (x0, x1) in enumerate(x_ranges):
        for j, (y0, y1) in enumerate(y_ranges):
            (regions_even if i % 2 == j % 2 else regions_odd).append((y0, y1, x0, x1))
    return regions_even, regions_odd


def count_regions_per_pixel(total_size, regions):
    """How many regions cover each pixel of an image of total_size (H, W)."""
    counts = np.zeros(total_size)
    for y0, y1, x0, x1 in regions:
        counts[y0:y1, x0:x1] += 1
    return counts


def parse_size(size_str, base_size):
    """A size flag: None (the base size), 'xF' (F times the base size) or 'HxW'."""
    if size_str is None:
        return tuple(base_size)
    if size_str.startswith('x'):
        scale = float(size_str[1:])
        return int(scale * base_size[0]), int(scale * base_size[1])
    height, _, width = size_str.partition('x')
    return int(height), int(width)


def get_size_sequence(base_size, initial_size, final_size, num_sizes, resize_type):
    """The (h, w) sizes of the multiscale schedule, spaced geometrically or linearly."""
    initial_h, initial_w = parse_size(initial_size, base_size)
    final_h, final_w = parse_size(final_size, base_size)
    if num_sizes == 1:
        return [(initial_h, initial_w)]
    if resize_type == 'geometric':
        heights = np.logspace(np.log10(initial_h), np.log10(final_h), num_sizes)
        widths = np.logspace(np.log10(initial_w), np.log10(final_w), num_sizes)
    elif resize_type == 'linear':
        heights = np.linspace(initial_h, final_h, num_sizes)
        widths = np.linspace(initial_w, final_w, num_sizes)
    else:
        raise ValueError('Invalid resize_type "%s"' % resize_type)
    heights = np.round(heights).astype('int')
    widths = np.round(widths).astype('int')
    return [(int(h), int(w)) for h, w in zip(heights, widths)]
