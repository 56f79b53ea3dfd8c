"""What an optimisation raises: a weighted sum of units of a net, in one
notation for every program (Lucent's objectives: small objects, sums and
scalings; DeepDream's split: an objective only writes diffs, the step is the
program's).

    objective = parse("fc8:980 + fc8:470")     # two fc units
    parse("conv5:196@6,6")                     # a unit of a spatial blob, at (y, x) = (6, 6)
    parse("conv5:196")                         # a whole channel: its mean over space
    parse("fc8:980 - 0.5*fc8:437")             # a negative weight suppresses
    unit(net, "fc8", 980) == parse("fc8:980")  # --unit's single unit (at (xy, xy) in a spatial blob)
    objective.check(net, "--objective")        # one line for an unknown blob, unit or position

A term names a blob as the layer that first writes it leaves it (what a
forward pass to that layer gives: before an in-place ReLU), or a layer (its
output).  The terms may sit in different blobs:

    points = forward(net, objectives, data=images)    # to the deepest term, reading each on the way
    objectives[b].value(points, b)                    # the weighted sum for batch item b
    backward(net, objectives, diffs=[data])           # each term's diff, added on the way down

A single blob is the plain pass (forward to its layer, one diff, backward
from it): the programs' --unit bit for bit.  Several blobs are one pass cut at
their layers: Caffe's layers overwrite their bottoms' diffs, so a diff set on
a blob below the backward's start would be lost; each blob's diff is added
when the pass reaches it (tests/unit/test_objectives.py checks the sum against
finite differences).
"""
import difflib
import re
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import numpy as np

from prefinput.errors import UserError

LIST_BLOBS = "--list_blobs lists them"  # how to see every blob a net has


@dataclass(frozen=True)
class Term:
    """`weight` times unit `unit` of blob (or layer) `name`: at (y, x) = `at` in a
    spatial blob, or with `at` None an fc unit or a spatial channel's mean."""
    name: str
    unit: int
    at: Optional[Tuple[int, int]] = None
    weight: float = 1.0

    def __str__(self):
        return ("" if abs(self.weight) == 1 else "%g*" % abs(self.weight)) + self.place

    @property
    def place(self):
        """The unit without its weight: fc8:980, conv5:196@6,6."""
        return "%s:%d%s" % (self.name, self.unit, "" if self.at is None else "@%d,%d" % self.at)

    def index(self, shape):
        """Where the term is in one item of a blob of `shape` (NxC...)."""
        if self.at is None or len(shape) <= 2:
            return (self.unit,)
        return (self.unit,) + tuple(self.at)

    def value(self, item):
        """The unweighted value in one item (Cx...) of the blob's data: the unit, or the channel's mean."""
        return float(np.mean(item[self.index((None,) + item.shape)]))

    def unit_values(self, item):
        """Every unit of one item (Cx...) read as this term reads its own:
        at its position, or channel means, or the fc units."""
        if item.ndim == 1:
            return item
        if self.at is None:
            return item.reshape(item.shape[0], -1).mean(axis=1)
        return item[(slice(None),) + tuple(self.at)]

    def add_diff(self, diff):
        """Add d(weight * value) / d(blob) to one item's diff (Cx...)."""
        selected = diff[self.index((None,) + diff.shape)]
        diff[self.index((None,) + diff.shape)] = selected + self.weight / max(1, np.size(selected))


class Objective:
    """A weighted sum of Terms; objectives add, subtract and scale like numbers."""

    def __init__(self, terms):
        self.terms = tuple(terms)

    def __add__(self, other):
        return Objective(self.terms + other.terms)

    def __mul__(self, scale):
        return Objective(replace(term, weight=term.weight * scale) for term in self.terms)

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + -other

    def __eq__(self, other):
        return isinstance(other, Objective) and self.terms == other.terms

    def __hash__(self):
        return hash(self.terms)

    def __repr__(self):
        return "Objective(%r)" % str(self)

    def __str__(self):
        return self._joined(str)

    def _joined(self, text_of, plus=" + ", minus=" - "):
        """The terms' texts (text_of(term), without its sign) joined by their signs."""
        text = ""
        for term in self.terms:
            text += (minus.strip() if term.weight < 0 else "") if not text else (minus if term.weight < 0 else plus)
            text += text_of(term)
        return text

    @property
    def single(self):
        """The one term of weight 1 (what --unit gives), else None."""
        return self.terms[0] if len(self.terms) == 1 and self.terms[0].weight == 1 else None

    def named(self, name_of):
        """The sum with each term's unit named by name_of(term) (None: its
        blob:unit), for a picture's label: 'volcano + candle', 'goldfish - 0.5 tench'."""
        return self._joined(lambda term: ("" if abs(term.weight) == 1 else "%g " % abs(term.weight)) +
                            (name_of(term) or term.place))

    def slug(self):
        """The objective in a file name: fc8_0980, fc8_0980+fc8_0470, fc8_0980-0.5xfc8_0437."""
        return self._joined(lambda term: ("" if abs(term.weight) == 1 else "%gx" % abs(term.weight)) + "%s_%04d%s" % (
            term.name.replace("/", "-"), term.unit, "" if term.at is None else "@%d,%d" % term.at), "+", "-")

    @property
    def label(self):
        """How progress lines name it: the unit (as --unit's lines did), or the sum."""
        return self.single.unit if self.single else str(self)

    def value(self, points, b):
        """The weighted sum for batch item `b`, from `points` (what forward returned)."""
        return sum(term.weight * term.value(points[term.name][b]) for term in self.terms)

    def unit_values(self, points, b):
        """All units of the first term's blob for item `b`, read as that term
        reads its unit (at its position, or channel means): the progress line's max."""
        return self.terms[0].unit_values(points[self.terms[0].name][b])

    def add_diffs(self, net, name, b):
        """Add the gradient of this objective's terms on `name` to item `b` of its diff."""
        diff = net.blobs[blob_of(net, name)].diff
        for term in self.terms:
            if term.name == name:
                term.add_diff(diff[b])

    def weights(self, net, name):
        """d objective / d blob `name` for one item (its shape): the weight of each unit."""
        weights = np.zeros(net.blobs[blob_of(net, name)].data.shape[1:])
        for term in self.terms:
            if term.name == name:
                term.add_diff(weights)
        return weights

    def check(self, net, flag="--objective"):
        """Stop with one line unless every term is a unit (and position) of `net`."""
        for term in self.terms:
            check_term(net, term, flag)


def unit(net, name, unit_number, xy=0):
    """--unit's objective: `unit_number` of blob `name`, at (xy, xy) where the blob is spatial."""
    spatial = len(net.blobs[blob_of(net, name)].data.shape) == 4
    return Objective([Term(name, unit_number, (xy, xy) if spatial else None)])


def unit_and_text(target):
    """(unit, objective text) of a run's target, a unit number or an
    Objective: what a Result records (the unit is None for a sum)."""
    if not isinstance(target, Objective):
        return target, None
    return (target.single.unit if target.single else None), str(target)


# --- the notation -------------------------------------------------------------

NAME = r"[A-Za-z_][\w/.\-]*?"  # a blob or layer name (lazy: a '-' after the unit is an operator)
TOKEN = re.compile(r"\s*(?:(?P<weight>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)\s*\*\s*)?"
                   r"(?P<name>" + NAME + r"):(?P<unit>\d+)(?:@(?P<y>\d+),(?P<x>\d+))?(?![\w.])")
SIGN = re.compile(r"\s*([-+])")


class BadObjective(UserError):
    """An objective that cannot be read, with where."""


def parse(text, flag="--objective"):
    """The Objective that `text` writes, e.g. 'fc8:980 - 0.5*fc8:437'; a
    mistake is one line naming its column (1 is the first character)."""
    terms, position, sign = [], 0, 1.0
    first = SIGN.match(text, position)
    if first and first.group(1) == "-":
        sign, position = -1.0, first.end()
    while True:
        match = TOKEN.match(text, position)
        if not match:
            raise _mistake(text, position, flag, "expected a term such as fc8:980, 0.5*fc8:980 or conv5:196@6,6")
        at = None if match.group("y") is None else (int(match.group("y")), int(match.group("x")))
        weight = sign * float(match.group("weight") or 1)
        terms.append(Term(match.group("name"), int(match.group("unit")), at, weight))
        position = match.end()
        if not text[position:].strip():
            return Objective(terms)
        operator = SIGN.match(text, position)
        if text[position] == "@":
            raise _mistake(text, position, flag, "a position is @y,x, e.g. conv5:196@6,6")
        if not operator:
            raise _mistake(text, position, flag, "expected + or - between terms")
        sign, position = (1.0 if operator.group(1) == "+" else -1.0), operator.end()


def _mistake(text, position, flag, what):
    while position < len(text) and text[position].isspace():
        position += 1
    return BadObjective(f"{flag} {text!r}: column {position + 1}: {what}")


def parse_all(texts, flag="--objective"):
    """One Objective per text (several --objective values: several images)."""
    return [parse(text, flag) for text in texts]


# --- checks against a net -----------------------------------------------------

def blob_of(net, name):
    """The blob a term's `name` reads: itself if a blob, else the top of the layer of that name."""
    if name in net.blobs:
        return name
    return net.top_names[name][0]


def layer_reading(net, name):
    """The index of the layer after whose forward the term `name` is read: the
    layer of that name, or the first layer that writes the blob."""
    layer_names = list(net._layer_names)
    if name not in net.blobs:
        return layer_names.index(name)
    writers = [i for i, layer in enumerate(layer_names) if name in net.top_names[layer]]
    if name in net.inputs or not writers:
        raise UserError(f"{name}: no layer of the net computes this blob (it is an input); choose a blob the net "
                        f"computes ({LIST_BLOBS})")
    return writers[0]


def user_blobs(net):
    """The blobs a user may name: the net's, without Caffe's split copies."""
    return [name for name in net.blobs if "_split_" not in name]


def unknown_name(net, name, flag):
    """The one line for a name the net has neither as a blob nor as a layer
    (`flag` the flag, or an environment variable's NAME= that gave it)."""
    names = user_blobs(net) + in_place_layers(net)
    closest = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"closest: {', '.join(closest)}; " if closest else ""
    given = flag + name if flag.endswith("=") else f"{flag} {name}"
    return UserError(f"{given}: the net has no blob or layer of this name; {hint}{LIST_BLOBS}")


def in_place_layers(net):
    """The layers that write their input's blob (BatchNorm, Scale, ReLU): each names its output."""
    return [name for name in net._layer_names if name not in net.blobs and len(net.top_names[name]) == 1
            and list(net.top_names[name]) == list(net.bottom_names[name])]


def check_blob(net, name, flag, what=None):
    """Stop with one line unless `net` has a blob `name` (given as `flag`):
    naming the closest ones (unknown_name) on the net a user lists with
    --list_blobs, or all of them on `what`, another net (the generator, the
    encoder)."""
    if name in net.blobs:
        return
    if what is None:
        raise unknown_name(net, name, flag)
    raise UserError(f"{flag} {name}: {what} has no such blob; it has {', '.join(net.blobs.keys())}")


def check_name(net, name, flag):
    """Stop with one line unless `name` is a blob of `net` or an in-place layer."""
    if name not in net.blobs and name not in in_place_layers(net):
        raise unknown_name(net, name, flag)


def check_term(net, term, flag):
    """Stop with one line unless `term`'s unit (and position) is in its blob."""
    check_name(net, term.name, flag)
    layer_reading(net, term.name)  # computed by a layer (not the input)
    shape = net.blobs[blob_of(net, term.name)].data.shape
    units = shape[1] if len(shape) > 1 else 1
    if not 0 <= term.unit < units:
        raise UserError(f"{flag} {term.place}: {term.name} has units 0..{units - 1}")
    if term.at is None:
        return
    if len(shape) != 4:
        raise UserError(f"{flag} {term.place}: {term.name} is not spatial ({'x'.join(map(str, shape[1:]))}); "
                        f"drop @{term.at[0]},{term.at[1]}")
    if not (0 <= term.at[0] < shape[2] and 0 <= term.at[1] < shape[3]):
        raise UserError(f"{flag} {term.place}: position outside {term.name}, which is {shape[2]}x{shape[3]} "
                        f"(y 0..{shape[2] - 1}, x 0..{shape[3] - 1})")


# --- the passes ---------------------------------------------------------------

def _stops(net, objectives):
    """[(layer index, name)] of the terms, shallowest first, each name once."""
    names = {term.name for objective in objectives for term in objective.terms}
    return sorted((layer_reading(net, name), name) for name in names)


def forward(net, objectives, **inputs):
    """Forward `inputs` to the deepest term of `objectives`, keeping each
    term's blob as it is when its layer has run; returns {name: data}, the
    values Objective.value reads.  One blob: the blob itself, not a copy."""
    layer_names = list(net._layer_names)
    stops = _stops(net, objectives)
    points, start = {}, None
    for index, name in stops:
        net.forward(**inputs, start=start, end=layer_names[index])
        inputs = {}
        blob = net.blobs[blob_of(net, name)].data
        points[name] = blob if len(stops) == 1 else blob.copy()
        start = layer_names[index + 1] if index + 1 < len(layer_names) else None
    return points


def backward(net, objectives, diffs=()):
    """Backpropagate the sum of `objectives` (objectives[b] on batch item b)
    from the deepest term; returns pycaffe's {blob: diff} for `diffs`.  Every
    diff the objectives wrote is zeroed afterwards (reset after each step)."""
    layer_names = list(net._layer_names)
    stops = _stops(net, objectives)
    if len(stops) > 1:  # a blob below the start may keep a diff from an earlier pass
        for blob in net.blobs.values():
            blob.diff[...] = 0
    for k in range(len(stops) - 1, -1, -1):
        index, name = stops[k]
        diff = net.blobs[blob_of(net, name)].diff
        if len(stops) == 1:
            diff[...] = 0
        for b, objective in enumerate(objectives):
            objective.add_diffs(net, name, b)
        end = layer_names[stops[k - 1][0] + 1] if k > 0 else None
        result = net.backward(start=layer_names[index], end=end, diffs=list(diffs))
    for _, name in stops:
        net.blobs[blob_of(net, name)].diff.fill(0.)
    return result
