"""prefinput.objectives: the notation (each form, each mistake with its
column), the checks against a net, the values it reads, and the one pass
for terms in several blobs giving the gradient of the sum (against each term
alone and against finite differences), on the tiny classifier."""
import numpy as np
import pytest

from prefinput import objectives
from prefinput.errors import UserError
from prefinput.objectives import Objective, Term, parse


# --- the notation -------------------------------------------------------------

@pytest.mark.parametrize("text, terms", [
    ("fc8:980", [Term("fc8", 980)]),
    ("fc8:980 + fc8:470", [Term("fc8", 980), Term("fc8", 470)]),
    ("conv5:196@6,6", [Term("conv5", 196, (6, 6))]),
    ("conv5:196", [Term("conv5", 196)]),
    ("fc8:980 - 0.5*fc8:437", [Term("fc8", 980), Term("fc8", 437, None, -0.5)]),
    ("-fc8:1+2 * conv5:3@0,1", [Term("fc8", 1, None, -1.0), Term("conv5", 3, (0, 1), 2.0)]),
    ("inception_4d/3x3_reduce:7 - res2a-branch2a:1", [Term("inception_4d/3x3_reduce", 7),
                                                      Term("res2a-branch2a", 1, None, -1.0)]),
    ("1e-1*fc8:2", [Term("fc8", 2, None, 0.1)]),
])
def test_each_form_is_read_as_its_terms(text, terms):
    assert parse(text).terms == tuple(terms)
    assert parse(str(parse(text))) == parse(text)  # the text it prints reads back the same


def test_objectives_add_subtract_and_scale_like_numbers():
    volcano, candle = parse("fc8:980"), parse("fc8:470")
    assert volcano + candle == parse("fc8:980 + fc8:470")
    assert volcano - 0.5 * candle == parse("fc8:980 - 0.5*fc8:470")
    assert str(-volcano + candle * 2) == "-fc8:980 + 2*fc8:470"


@pytest.mark.parametrize("text, column, what", [
    ("fc8:980 +", 10, "expected a term"),
    ("fc8 980", 1, "expected a term"),
    ("fc8:980 * fc8:1", 9, "expected \\+ or -"),
    ("fc8:x", 1, "expected a term"),
    ("fc8:980 + + fc8:1", 11, "expected a term"),
    ("fc8:1@2", 6, "a position is @y,x"),
    ("", 1, "expected a term"),
])
def test_a_malformed_sum_is_one_line_with_the_column_of_the_mistake(text, column, what):
    with pytest.raises(objectives.BadObjective, match=f"^--objective '.*': column {column}: {what}") as error:
        parse(text)
    assert "\n" not in str(error.value)


def test_a_file_name_shows_the_sum_and_a_single_unit_keeps_the_originals_name():
    assert parse("fc8:3").slug() == "fc8_0003"
    assert parse("fc8:980 + fc8:470").slug() == "fc8_0980+fc8_0470"
    assert parse("fc8:980 - 0.5*fc8:437").slug() == "fc8_0980-0.5xfc8_0437"
    assert parse("loss3/classifier:1@2,3").slug() == "loss3-classifier_0001@2,3"


# --- against the tiny classifier ------------------------------------------------

@pytest.fixture(scope="module")
def net(tiny):
    from prefinput.netdefs import loading
    return loading.load(*tiny["classifier"])


@pytest.mark.parametrize("text, message", [
    ("fc9:1", r"^--objective fc9: the net has no blob or layer of this name; closest: fc8, fc7, fc6; "
              r"--list_blobs lists them$"),
    ("fc8:10", r"^--objective fc8:10: fc8 has units 0\.\.9$"),
    ("conv5:1@6,0", r"^--objective conv5:1@6,0: position outside conv5, which is 6x6 \(y 0\.\.5, x 0\.\.5\)$"),
    ("fc8:1@0,0", r"^--objective fc8:1@0,0: fc8 is not spatial \(10\); drop @0,0$"),
    ("fc8:1 + data:0", r"^data: no layer of the net computes this blob \(it is an input\)"),
])
def test_a_term_the_net_lacks_is_one_line(net, text, message):
    with pytest.raises(UserError, match=message):
        parse(text).check(net)


def test_unit_is_the_units_term_at_xy_xy_in_a_spatial_blob(net):
    assert objectives.unit(net, "fc8", 3, xy=1) == parse("fc8:3")
    assert objectives.unit(net, "conv5", 3, xy=1) == parse("conv5:3@1,1")


def test_values_are_units_positions_and_channel_means(net):
    from prefinput.netdefs import loading
    images = np.random.RandomState(1).normal(0, 30, (2, 3, 27, 27)).astype(np.float32)
    targets = [parse("fc8:3 - 0.5*conv5:2@1,4"), parse("conv5:7")]
    loading.set_batch(net, "data", 2)
    points = objectives.forward(net, targets, data=images)
    net.forward(data=images, end="conv5")  # conv5 as its layer leaves it (before relu5)
    conv5 = net.blobs["conv5"].data.copy()
    net.forward(data=images, end="fc8")
    fc8 = net.blobs["fc8"].data
    assert targets[0].value(points, 0) == pytest.approx(fc8[0, 3] - 0.5 * conv5[0, 2, 1, 4], rel=1e-6)
    assert targets[1].value(points, 1) == pytest.approx(conv5[1, 7].mean(), rel=1e-6)
    assert (conv5 < 0).any()  # so the values were read before the in-place ReLU


def input_gradient(net, targets, images):
    from prefinput.netdefs import loading
    from prefinput.steps import input_blob
    loading.set_batch(net, "data", len(images))
    objectives.forward(net, targets, data=images)
    return objectives.backward(net, targets, diffs=[input_blob(net)])["data"].copy()


SUM = "fc8:3 + 2*conv5:1@2,2 - 0.5*conv3:4 + conv1:0@3,3"


def test_one_pass_gives_the_sum_of_each_terms_gradient(net):
    images = np.random.RandomState(2).normal(0, 30, (1, 3, 27, 27)).astype(np.float32)
    objective = parse(SUM)
    alone = sum(input_gradient(net, [Objective([term])], images).astype(np.float64) for term in objective.terms)
    together = input_gradient(net, [objective], images)
    assert np.abs(alone).max() > 0
    assert np.allclose(together, alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())


def test_the_gradient_of_the_sum_matches_finite_differences(net):
    """Central differences of the float32 net along the gradient itself (the
    largest slope, 1e-3 apart) and along a random direction (within 1e-3 of
    the gradient's norm)."""
    rng = np.random.RandomState(3)
    images = rng.normal(0, 30, (1, 3, 27, 27)).astype(np.float32)
    objective = parse(SUM)
    gradient = input_gradient(net, [objective], images)

    def slope(direction, step=0.1):
        def value(x):
            return objective.value(objectives.forward(net, [objective], data=x), 0)
        return (value(images + step * direction) - value(images - step * direction)) / (2 * step)

    norm = np.linalg.norm(gradient)
    assert slope(gradient / norm) == pytest.approx(norm, rel=1e-3)
    direction = rng.normal(0, 1, images.shape).astype(np.float32) / np.sqrt(images.size)
    assert abs(slope(direction, step=1.0) - float((gradient * direction).sum())) < 1e-3 * norm


def test_caffe_loses_a_diff_set_below_where_the_backward_starts(net):
    """Why the pass is cut at each blob: one backward from fc8 with conv5's diff
    set beforehand gives fc8's gradient alone (each layer overwrites its bottom's diff)."""
    images = np.random.RandomState(4).normal(0, 30, (1, 3, 27, 27)).astype(np.float32)
    net.forward(data=images, end="fc8")
    for blob in net.blobs.values():
        blob.diff[...] = 0
    net.blobs["fc8"].diff[0, 3] = 1
    net.blobs["conv5"].diff[0, 1, 2, 2] = 2
    naive = net.backward(start="fc8", diffs=["data"])["data"].copy()
    assert np.array_equal(naive, input_gradient(net, [parse("fc8:3")], images))
    assert not np.allclose(naive, input_gradient(net, [parse("fc8:3 + 2*conv5:1@2,2")], images))


def test_each_batch_item_has_its_own_objective(net):
    images = np.random.RandomState(5).normal(0, 30, (2, 3, 27, 27)).astype(np.float32)
    targets = [parse("fc8:3 + conv5:1"), parse("conv3:2@1,1")]
    both = input_gradient(net, targets, images)
    for b, objective in enumerate(targets):
        alone = input_gradient(net, [objective], images[b:b + 1])
        assert np.allclose(both[b], alone[0], rtol=1e-5, atol=1e-7)


def test_no_diff_is_left_on_the_terms_blobs(net):
    images = np.random.RandomState(6).normal(0, 30, (1, 3, 27, 27)).astype(np.float32)
    input_gradient(net, [parse(SUM)], images)
    assert not any(net.blobs[name].diff.any() for name in ("fc8", "conv5", "conv3", "conv1"))
