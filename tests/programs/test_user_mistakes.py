"""Every user mistake is one line before the work starts, and nothing a user
had is lost: a table of commands, each run as a program on the tiny nets in a
folder that holds an earlier run's outputs.

A row: (id, command, exit status, the one line's pattern[, environment]).
The command is a list of words with {placeholders}: the tiny nets' files,
data files, the output folder {out} (which holds an earlier run's files) and
{tmp}, and any name in MAKERS, whose maker writes that (broken) file first.
The optional fifth element is a dict of environment variables for the
command (the numbered scripts' and cnnpref examples' settings), their values
with the same placeholders.  Every row
asserts: the exit status; for status 2, stderr is exactly one line, matching
the pattern, without a traceback or a glog dump; and the earlier run's files
are byte for byte as they were.
"""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")

NETS = ["--net_definition", "{classifier}", "--net_weights", "{classifier_weights}",
        "--generator_definition", "{generator}", "--generator_weights", "{generator_weights}",
        "--encoder_definition", "{classifier}", "--encoder_weights", "{classifier_weights}"]
ACT_MAX = ["act_max.py", *NETS, "--n_iters", "2", "--output_dir", "{out}"]
SAMPLING = ["sampling_class.py", *NETS, "--synset_file", "{synsets}", "--mean_file_mat", "{mean_mat}",
            "--n_iters", "2", "--output_dir", "{out}"]
CNN_VIS = ["cnn_vis.py", "--deploy_txt", "{classifier}", "--caffe_model", "{classifier_weights}",
           "--mean_image", "{mean_npy}", "--gpu", "-1", "--num_steps", "2", "--output_file", "{out}/vis.png"]


def make_text(name, text):
    def make(tmp, places):
        path = tmp / name
        path.write_text(text)
        return path
    return make


def make_changed(source, name, change):
    """The file of placeholder `source`, its bytes passed through `change`."""
    def make(tmp, places):
        path = tmp / name
        with open(places[source], "rb") as f:
            path.write_bytes(change(f.read()))
        return path
    return make


# Broken files a row can name as {placeholder}: name -> maker(tmp, places) -> path
MAKERS = {
    "not_an_image": make_text("start.jpg", "this is text, not a JPEG"),
    "a_empty_weights": make_text("empty.caffemodel", ""),
    "a_truncated_weights": make_changed("classifier_weights", "truncated.caffemodel", lambda data: data[:len(data) // 2]),
    "a_fc8_7": make_changed("classifier", "fc8_7.prototxt",
                            lambda text: text.replace(b"num_output: 10\n", b"num_output: 7\n")),
}

# --- rows: arguments and values (issue 12 point 5) ---------------------------
ROWS_ARGUMENTS = [
    ("act_max unknown blob", [*ACT_MAX, "--unit", "1", "--act_layer", "nonesuch"], 2,
     r"--act_layer nonesuch: the net has no blob or layer of this name; --list_blobs lists them$"),
    ("act_max misspelt blob", [*ACT_MAX, "--unit", "1", "--act_layer", "conv_5"], 2,
     r"--act_layer conv_5: the net has no blob or layer of this name; closest: conv5, conv4, conv3; "
     r"--list_blobs lists them$"),
    ("act_max unit out of range", [*ACT_MAX, "--unit", "10"], 2, r"--unit 10: fc8 has units 0\.\.9"),
    ("sampling_class unit out of range", [*SAMPLING, "--units", "10"], 2, r"--unit 10: fc8 has units 0\.\.9"),
]

# --- rows: model files (issue 12 point 1) -------------------------------------
def model_rows(program, command, definition, weights):
    """The broken model files, given to `program` as its classifier's `definition` and `weights` flags."""
    return [(f"{program} {what}", [*command, *extra], 2, line) for what, extra, line in (
        ("empty weights", [weights, "{a_empty_weights}"], r"empty\.caffemodel: the weights file is empty \(0 bytes\)"),
        ("generator weights", [weights, "{generator_weights}"],
         r"error: conv1: \S*generator\.caffemodel has no weights for this layer of \S*classifier\.prototxt"),
        ("truncated weights", [weights, "{a_truncated_weights}"],
         r"truncated\.caffemodel: the weights file is truncated or corrupt; fetch it again"),
        ("fc8 num_output changed", [definition, "{a_fc8_7}"],
         r"error: fc8: the weights are 10x64, the definition wants 7x64 "),
        ("caffemodel as definition", [definition, "{classifier_weights}"],
         r"classifier\.caffemodel is not a Caffe net definition: it is a binary file, not text"),
        ("prototxt as weights", [weights, "{classifier}"],
         r"classifier\.prototxt is text, not a binary caffemodel \(is it the net definition"))]


ROWS_MODELS = [
    *model_rows("act_max", [*ACT_MAX, "--unit", "1"], "--net_definition", "--net_weights"),
    *model_rows("sampling_class", [*SAMPLING, "--units", "1"], "--net_definition", "--net_weights"),
    *model_rows("cnn_vis", CNN_VIS, "--deploy_txt", "--caffe_model"),
]

# --- rows: finite values (issue 12 point 2) -----------------------------------
# cnn_vis on a blob of the tiny net: a command that runs as it is
CNN_VIS_RUNS = [*CNN_VIS, "--target_layer", "conv3", "--initial_size", "210x210", "--output_iter", "100"]
ROWS_FINITE = [(f"{program} {flag} {value}", [*command, flag, value], 2,
                rf"^{program}\.py: error: {flag} {value}: expected a finite number\n$")
               for program, command, flag, value in (
                   ("act_max", [*ACT_MAX, "--unit", "1"], "--start_lr", "nan"),
                   ("act_max", [*ACT_MAX, "--unit", "1"], "--end_lr", "inf"),
                   ("act_max", [*ACT_MAX, "--unit", "1"], "--L2", "nan"),
                   ("sampling_class", [*SAMPLING, "--units", "1"], "--lr", "nan"),
                   ("sampling_class", [*SAMPLING, "--units", "1"], "--epsilon1", "inf"),
                   ("sampling_class", [*SAMPLING, "--units", "1"], "--epsilon3", "nan"),
                   ("sampling_class", [*SAMPLING, "--units", "1"], "--threshold", "nan"),
                   ("sampling_class", [*SAMPLING, "--units", "1"], "--epsilon4", "inf"),
                   ("cnn_vis", CNN_VIS_RUNS, "--learning_rate", "nan"),
                   ("cnn_vis", CNN_VIS_RUNS, "--initialization_scale", "inf"),
                   ("cnn_vis", CNN_VIS_RUNS, "--tv_reg", "nan"))] + [
    ("act_max --start_lr 1e999", [*ACT_MAX, "--unit", "1", "--start_lr", "1e999"], 2,  # too large: inf
     r"^act_max\.py: error: --start_lr inf: expected a finite number\n$")]

# --- rows: checks before the work (issue 12 point 3) --------------------------
def make_image(name, mode):
    """A 30x40 image file of Pillow `mode` ('L' grey, 'RGB', 'RGBA')."""
    def make(tmp, places):
        from PIL import Image
        path = tmp / name
        Image.new(mode, (40, 30), "red" if mode != "L" else 128).save(path)
        return path
    return make


MAKERS.update({
    "c_grey_image": make_image("grey.png", "L"),
    "c_rgb_image": make_image("rgb.jpg", "RGB"),
    "c_a_file": make_text("a_file", "a regular file, not a folder"),
    "c_short_labels": make_text("labels.txt", "n01 tench, Tinca tinca\nn02 goldfish\nn03 shark\n"),
})
DRIVER_ACT_MAX = ["examples/driver.py", "act_max", "--units", "1 2"]
DRIVER_SAMPLING = ["examples/driver.py", "sampling_class", "--units", "1"]
IS_A_FILE = r"\S*a_file is a file, not a folder; give another folder"
START = ["--opt_layer", "fc6", "--mean_file_mat", "{mean_mat}", "--init_file"]
CNNPREF = {"NET_DEFINITION": "{classifier}", "NET_WEIGHTS": "{classifier_weights}", "MEAN_FILE_NPY": "{mean_npy}",
           "LAYER": "fc8", "N_ITERS": "2", "NUM_OF_IMG": "2", "RESULT_DIR": "{out}"}
CNNPREF_GD = "examples/cnnpref/generate_preferred_image_gd__for_higher_layer.py"
SCRIPT = {"NET_DEFINITION": "{classifier}", "NET_WEIGHTS": "{classifier_weights}",
          "GENERATOR_DEFINITION": "{generator}", "GENERATOR_WEIGHTS": "{generator_weights}",
          "ENCODER_DEFINITION": "{classifier}", "ENCODER_WEIGHTS": "{classifier_weights}",
          "BOUND_FILE": "{bound}", "SYNSET_FILE": "{synsets}", "N_ITERS": "2", "OUTPUT_DIR": "{out}"}
ROWS_CHECKS = [
    # act_max.py
    ("checks act_max output folder under a file", [*ACT_MAX, "--unit", "1", "--output_dir", "{c_a_file}/out"], 2,
     r"--output_dir \S*a_file/out: " + IS_A_FILE),
    ("checks act_max init file not an image", [*ACT_MAX, "--unit", "1", *START, "{not_an_image}"], 2,
     r"--init_file \S*start\.jpg: not an image Pillow can read \(.*\); give a JPEG or PNG$"),
    ("checks act_max init file grey", [*ACT_MAX, "--unit", "1", *START, "{c_grey_image}"], 2,
     r"--init_file \S*grey\.png: an image of shape \(30, 40\), not RGB \(HxWx3\); convert it first"),
    ("checks act_max generator image too small", [*ACT_MAX, "--unit", "1", "--gen_out_layer", "deconv3"], 2,
     r"the generator's deconv3 images are 8x16x16, which do not hold the classifier's 3x27x27 input; give a "),
    ("checks act_max unknown gen_in_layer", [*ACT_MAX, "--unit", "1", "--gen_in_layer", "nonesuch"], 2,
     r"--gen_in_layer nonesuch: the generator has no such blob; it has feat, "),
    ("checks act_max unknown opt_layer", [*ACT_MAX, "--unit", "1", *START, "{c_rgb_image}", "--opt_layer",
                                                "nonesuch"], 2,
     r"--opt_layer nonesuch: the encoder has no such blob; it has data, "),
    ("checks act_max negative seed", [*ACT_MAX, "--unit", "1", "--seed", "-1"], 2,
     r"--seed -1: a seed is 0 or more and below 2\*\*32 \(4294967296\); give e\.g\. --seed 0$"),
    ("checks act_max xy out of range", [*ACT_MAX, "--unit", "1", "--act_layer", "conv5", "--xy", "99"], 2,
     r"--xy 99: conv5 is \d+x\d+$"),
    ("checks act_max NETS_DIR is a file", ["act_max.py", "--unit", "1", "--output_dir", "{out}"], 2,
     r"NETS_DIR \S*a_file: is a file, not a folder; point NETS_DIR", {"NETS_DIR": "{c_a_file}"}),
    # sampling_class.py
    ("checks sampling save_every negative", [*SAMPLING, "--units", "1", "--save_every", "-1"], 2,
     r"--save_every -1: must be 0 or more$"),
    ("checks sampling reset_every negative", [*SAMPLING, "--units", "1", "--reset_every", "-2"], 2,
     r"--reset_every -2: must be 0 or more$"),
    ("checks sampling output folder under a file", [*SAMPLING, "--units", "1", "--output_dir", "{c_a_file}/out"], 2,
     r"--output_dir \S*a_file/out: " + IS_A_FILE),
    ("checks sampling init file not an image", [*SAMPLING, "--units", "1", *START, "{not_an_image}"], 2,
     r"--init_file \S*start\.jpg: not an image Pillow can read"),
    ("checks sampling generator image too small", [*SAMPLING, "--units", "1", "--gen_out_layer", "deconv3"], 2,
     r"the generator's deconv3 images are 8x16x16, which do not hold the encoder's 3x27x27 input"),
    ("checks sampling unknown opt_layer", [*SAMPLING, "--units", "1", "--opt_layer", "nonesuch"], 2,
     r"--opt_layer nonesuch: the encoder has no such blob"),
    # cnn_vis.py
    *[(f"checks cnn_vis {flag} {value}", [*CNN_VIS, f"--{flag}", value], 2,
       rf"--{flag} {value}: must be at least {least}$")
      for flag, value, least in (("num_sizes", "0", 1), ("batch_size", "0", 1), ("output_iter", "0", 1),
                                 ("num_steps", "-2", 0))],
    ("checks cnn_vis iter_behavior bogus", [*CNN_VIS, "--iter_behavior", "save+bogus"], 2,
     r"--iter_behavior save\+bogus: 'bogus' is not one of save, print, show, plot_pix; join them with \+"),
    ("checks cnn_vis target_neuron negative", [*CNN_VIS, "--image_type", "amplify_neuron", "--target_layer", "fc8",
                                          "--target_neuron", "-1"], 2,
     r"--target_neuron -1 is out of range: fc8 has neurons \(channels\) 0\.\.9$"),
    ("checks cnn_vis unknown output format", [*CNN_VIS, "--output_file", "{out}/vis.bogus"], 2,
     r"--output_file \S*vis\.bogus: \.bogus is not an image format this can write; end the name in \.jpg or \.png"),
    ("checks cnn_vis output folder is a file", [*CNN_VIS, "--output_file", "{c_a_file}/vis.png"], 2,
     r"--output_file \S*a_file/vis\.png: \S*a_file is a file, not a folder"),
    ("checks cnn_vis output is a folder", [*CNN_VIS, "--output_file", "{out}"], 2,
     r"--output_file \S*out: is a folder; "),
    ("checks cnn_vis grey initial image", [*CNN_VIS, "--target_layer", "fc8", "--initial_image", "{c_grey_image}"], 2,
     r"--initial_image \S*grey\.png: an image of shape \(30, 40\), not RGB"),
    ("checks cnn_vis initial image not an image",
     [*CNN_VIS, "--target_layer", "fc8", "--initial_image", "{not_an_image}"], 2,
     r"--initial_image \S*start\.jpg: not an image Pillow can read"),
    # examples/driver.py
    ("checks driver collage folder is a file",
     [*DRIVER_ACT_MAX, "--collage", "{c_a_file}/c.jpg", "--", *ACT_MAX[1:]], 2,
     r"--collage \S*a_file/c\.jpg: " + IS_A_FILE),
    ("checks driver collage unknown format", [*DRIVER_ACT_MAX, "--collage", "{out}/c.bogus", "--", *ACT_MAX[1:]], 2,
     r"--collage \S*c\.bogus: \.bogus is not an image format this can write"),
    ("checks driver crop outside the image", [*DRIVER_ACT_MAX, "--crop", "20x20+10+0", "--", *ACT_MAX[1:]], 2,
     r"--crop 20x20\+10\+0: not inside the 27x27 images \(the net's input\); give a crop within them$"),
    ("checks driver label file too short", [*DRIVER_ACT_MAX[:-1], "1 5", "--labels", "synset", "--label_file",
                                       "{c_short_labels}", "--", *ACT_MAX[1:]], 2,
     r"--label_file \S*labels\.txt: 3 labels, none for unit 5"),
    ("checks driver chain unknown format",
     [*DRIVER_SAMPLING, "--chain", "{out}/chain_{{seed}}.bogus", "--", *SAMPLING[1:]], 2,
     r"--chain \S*chain_None\.bogus: \.bogus is not an image format"),
    ("checks driver sheet folder is a file",
     [*DRIVER_SAMPLING, "--sheet", "{c_a_file}/sheet.jpg", "--", *SAMPLING[1:]], 2,
     r"--sheet \S*a_file/sheet\.jpg: " + IS_A_FILE),
    # the cnnpref examples
    ("checks cnnpref NUM_OF_IMG 0", [CNNPREF_GD], 2,
     r"NUM_OF_IMG=0: expected a whole number of at least 1, e.g. NUM_OF_IMG=25$",
     dict(CNNPREF, NUM_OF_IMG="0")),
    ("checks cnnpref N_ITERS abc", [CNNPREF_GD], 2,
     r"N_ITERS=abc: expected a whole number of at least 1, e.g. N_ITERS=200$",
     dict(CNNPREF, N_ITERS="abc")),
    ("checks cnnpref RESULT_DIR under a file", [CNNPREF_GD], 2, r"RESULT_DIR \S*a_file/results: " + IS_A_FILE,
     dict(CNNPREF, RESULT_DIR="{c_a_file}/results")),
    ("checks DGN-AM script NETS_DIR is a file", ["1_activate_output.sh"], 2, r"NETS_DIR \S*a_file: is a file",
     {"NETS_DIR": "{c_a_file}", "OUTPUT_DIR": "{out}", "N_ITERS": "2"}),
    ("checks act_max unknown gen_out_layer", [*ACT_MAX, "--unit", "1", "--gen_out_layer", "nonesuch"], 2,
     r"--gen_out_layer nonesuch: the generator has no such blob; it has feat, "),
    ("checks sampling unknown gen_in_layer", [*SAMPLING, "--units", "1", "--gen_in_layer", "nonesuch"], 2,
     r"--gen_in_layer nonesuch: the generator has no such blob; it has feat, "),
] + [
    # every numbered script: its net's definition missing is one line before anything is made
    (f"checks {script} missing definition", [script, *argument], 2, r"\S*nonesuch\.prototxt not found",
     dict(SCRIPT, NET_DEFINITION="{tmp}/nonesuch.prototxt"))
    for script, argument in [
        ("1_activate_output.sh", []), ("2_activate_output_placesCNN.sh", []), ("3_start_from_real_image.sh", []),
        ("4_activate_hidden.sh", []), ("5_activate_output_GoogLeNet.sh", []),
        ("1_class_conditional_sampling.sh", ["1"]), ("2_class_conditional_sampling_many.sh", ["1e-5"]),
        ("3_hidden_conditional_sampling.sh", ["1"]), ("4_hidden_conditional_sampling_placesCNN.sh", ["1"]),
        ("5_caption_conditional_sampling.sh", ["a_red_car"]), ("6_class_conditional_sampling_from_real_image.sh", ["1"]),
        ("7_inpainting.sh", ["1"])]
]

# --- rows: never destroy (issue 12 point 4) -----------------------------------


def make_earlier_chain(folder):
    """{out}, holding an earlier chain of a numbered script in {out}/`folder`/samples."""
    def make(tmp, places):
        samples = os.path.join(places["out"], folder, "samples")
        os.makedirs(samples)
        with open(os.path.join(samples, "00000.jpg"), "wb") as f:
            f.write(b"an earlier chain's sample")
        return places["out"]
    return make


MAKERS.update({
    "d_out_with_chain_1": make_earlier_chain("fc8_chain_1_eps1_1e-5_eps3_1e-17"),
    "d_out_with_chain_980": make_earlier_chain("fc8_chain_980_eps1_1e-5_eps3_1e-17"),
})
TYPO = "{tmp}/typo.caffemodel"
NOT_FOUND = r"\S*typo\.caffemodel not found"
ROWS_NEVER_DESTROY = [
    ("never destroy sampling missing weights", [*SAMPLING, "--units", "1", "--net_weights", TYPO], 2, NOT_FOUND),
    ("never destroy sampling missing init file", [*SAMPLING, "--units", "1", "--init_file", "{tmp}/typo.jpg"], 2,
     r"\S*typo\.jpg not found"),
    ("never destroy act_max missing generator", [*ACT_MAX, "--unit", "1", "--generator_weights", TYPO], 2, NOT_FOUND),
    ("never destroy driver chain missing weights", [*DRIVER_SAMPLING, "--chain", "{out}/chain_{{seed}}.jpg", "--",
                                                    *SAMPLING[1:], "--net_weights", TYPO], 2, NOT_FOUND),
    # PPGN scripts 1 and 6 emptied samples/ before anything was checked
    ("never destroy PPGN script 1 missing weights", ["1_class_conditional_sampling.sh", "1"], 2, NOT_FOUND,
     dict(SCRIPT, OUTPUT_DIR="{d_out_with_chain_1}", NET_WEIGHTS=TYPO)),
    ("never destroy PPGN script 6 missing weights", ["6_class_conditional_sampling_from_real_image.sh", "980"], 2,
     NOT_FOUND, dict(SCRIPT, OUTPUT_DIR="{d_out_with_chain_980}", NET_WEIGHTS=TYPO)),
] + [
    # a PPGN script's argument names its output folder: checked before any folder is made (issue 21); under
    # an OUTPUT_DIR that is a file, a mkdir made first would fail instead
    (f"never lose {script} argument {argument}", [script, argument], 2,
     re.escape(f"{script}: {kind} '{argument}': expected "), dict(SCRIPT, OUTPUT_DIR="{c_a_file}/out"))
    for script, kind, argument in [
        ("1_class_conditional_sampling.sh", "UNIT", "../../x"),
        ("4_hidden_conditional_sampling_placesCNN.sh", "UNIT", "../../x"),
        ("2_class_conditional_sampling_many.sh", "EPSILON1", "../../x"),
        ("5_caption_conditional_sampling.sh", "SENTENCE", "../../x"),
        ("7_inpainting.sh", "UNIT", "1.5")]
]

# --- rows: Caffe must never kill the process (issue 21) -------------------------


def make_nan_weights(source, layer):
    """The caffemodel of placeholder `source` with a NaN in `layer`'s weights."""
    def change(data):
        from caffe.proto import caffe_pb2
        net = caffe_pb2.NetParameter()
        net.ParseFromString(data)
        (found,) = [each for each in net.layer if each.name == layer]
        found.blobs[0].data[1] = float("nan")
        return net.SerializeToString()
    return make_changed(source, f"nan_{layer}.caffemodel", change)


MAKERS.update({
    "e_nan_classifier": make_nan_weights("classifier_weights", "conv3"),
    "e_nan_generator": make_nan_weights("generator_weights", "deconv1"),
    "e_python_layer": make_changed("classifier", "python_layer.prototxt", lambda text: text + (
        b'layer { name: "py" type: "Python" bottom: "fc8" top: "py" python_param { module: "os" layer: "x" } }\n')),
})
BROKEN = r"error: {layer}: the weights in \S*nan_{layer}\.caffemodel are broken: blob 0 holds NaN or infinite values"
PYTHON = r"error: py: \S*python_layer\.prototxt has a Python layer, .*; pass --allow_python_layers"
ROWS_CAFFE = [
    ("caffe act_max NaN classifier weights", [*ACT_MAX, "--unit", "1", "--net_weights", "{e_nan_classifier}"], 2,
     BROKEN.format(layer="conv3")),
    ("caffe act_max NaN generator weights", [*ACT_MAX, "--unit", "1", "--generator_weights", "{e_nan_generator}"], 2,
     BROKEN.format(layer="deconv1")),
    ("caffe sampling_class NaN weights", [*SAMPLING, "--units", "1", "--net_weights", "{e_nan_classifier}"], 2,
     BROKEN.format(layer="conv3")),
    ("caffe cnn_vis NaN weights", [*CNN_VIS_RUNS, "--caffe_model", "{e_nan_classifier}"], 2,
     BROKEN.format(layer="conv3")),
    ("caffe cnnpref NaN weights", [CNNPREF_GD], 2, BROKEN.format(layer="conv3"),
     dict(CNNPREF, NET_WEIGHTS="{e_nan_classifier}")),
    ("caffe act_max Python layer", [*ACT_MAX, "--unit", "1", "--net_definition", "{e_python_layer}"], 2, PYTHON),
    ("caffe cnn_vis Python layer", [*CNN_VIS_RUNS, "--deploy_txt", "{e_python_layer}"], 2, PYTHON),
    ("caffe cnn_vis batch_size over INT_MAX", [*CNN_VIS_RUNS, "--batch_size", "2000000"], 2,
     r"error: --batch_size 2000000: the input data is 2000000x3x27x27, more than the 2147483647 values a Caffe blob "
     r"holds; give a smaller --batch_size$"),
]

# --- rows: never hang on a file that is no file, never fail after the work (issue 21) ---


def make_fifo(name):
    def make(tmp, places):
        path = tmp / name
        os.mkfifo(path)
        return path
    return make


MAKERS.update({"f_fifo": make_fifo("pipe")})
FIFO = r"^\S+\.py: error: \S*/pipe is a FIFO \(named pipe\), not a file; give the file itself\n$"
LONG = "n" * 300  # a name longer than a file system holds (255 bytes)
NEAR = "v" * 246  # a name that fits, with no room for a temporary name 15 bytes longer
ROWS_NO_FILE = [
    ("no file act_max definition is a FIFO", [*ACT_MAX, "--unit", "1", "--net_definition", "{f_fifo}"], 2, FIFO),
    ("no file act_max weights are a FIFO", [*ACT_MAX, "--unit", "1", "--net_weights", "{f_fifo}"], 2, FIFO),
    ("no file act_max bound is a FIFO", [*ACT_MAX, "--unit", "1", "--bound", "{f_fifo}"], 2, FIFO),
    ("no file act_max init image is a FIFO", [*ACT_MAX, "--unit", "1", *START, "{f_fifo}"], 2, FIFO),
    ("no file sampling synset file is a FIFO", [*SAMPLING, "--units", "1", "--synset_file", "{f_fifo}"], 2, FIFO),
    ("no file cnn_vis definition is a FIFO", [*CNN_VIS, "--deploy_txt", "{f_fifo}"], 2, FIFO),
    ("no file cnn_vis initial image is a FIFO", [*CNN_VIS, "--initial_image", "{f_fifo}"], 2, FIFO),
    ("no file act_max weights are a device", [*ACT_MAX, "--unit", "1", "--net_weights", "/dev/zero"], 2,
     r"/dev/zero is a character device, not a file; give the file itself\n$"),
    ("no file act_max weights are a folder", [*ACT_MAX, "--unit", "1", "--net_weights", "{tmp}"], 2,
     r"\S+ is a folder, not a file; give the file itself\n$"),
    ("too long act_max output folder", [*ACT_MAX, "--unit", "1", "--output_dir", f"{{out}}/{LONG}"], 2,
     rf"--output_dir \S*{LONG}: the name n{{40}}\.\.\. is 300 bytes, more than the file system holds \(255\)"),
    ("too long cnn_vis output name", [*CNN_VIS_RUNS, "--output_file", f"{{out}}/{LONG}.png"], 2,
     r"--output_file \S+\.png: the name n{40}\.\.\. is 304 bytes, more than the file system holds \(255\)"),
    ("too long driver collage name", [*DRIVER_ACT_MAX, "--collage", f"{{out}}/{LONG}.jpg", "--", *ACT_MAX[1:]], 2,
     r"--collage \S+\.jpg: the name n{40}\.\.\. is 304 bytes"),
    ("near the limit cnn_vis output name is written", [*CNN_VIS_RUNS, "--output_file", f"{{out}}/{NEAR}.png"], 0, ""),
]

# --- rows: hostile inputs and absurd flags (issue 21) -------------------------


def make_grey_net(tmp, places):
    """The tiny classifier taking 1-channel images, and weights for it (its fillers')."""
    import caffe
    definition = tmp / "grey.prototxt"
    definition.write_text(open(places["classifier"]).read().replace("dim: 3\n", "dim: 1\n", 1))
    weights = tmp / "grey.caffemodel"
    caffe.Net(str(definition), caffe.TEST).save(str(weights))
    return definition


MAKERS.update({
    "i_grey_net": make_grey_net,
    "i_empty_bound": make_text("empty_bound.txt", ""),
    "i_two_line_bound": make_text("two_lines.txt", " ".join(["1"] * 64) + "\n" + " ".join(["2"] * 64) + "\n"),
})
GREY_NET = r"\S*grey\.prototxt: the net's input has shape 1x1x27x27, not a colour image \(Nx3xHxW\); give a net that "
BOMB = (r"\S*bomb\.png: over \d+ pixels, more than Pillow decodes safely \(a decompression bomb\?\); give a smaller "
        r"picture$")
SEED = r"--seed {}: a seed is 0 or more and below 2\*\*32 \(4294967296\); give e\.g\. --seed 0$"
CNN_VIS_CONV3 = [*CNN_VIS, "--target_layer", "conv3"]
CNNPREF_DGN = "examples/cnnpref/generate_preferred_image_dgn_gd__for_higher_layer.py"
ROWS_HOSTILE = [
    ("hostile act_max init file a decompression bomb", [*ACT_MAX, "--unit", "1", *START, "{bomb}"], 2,
     r"--init_file " + BOMB),
    ("hostile sampling init file a decompression bomb", [*SAMPLING, "--units", "1", *START, "{bomb}"], 2,
     r"--init_file " + BOMB),
    ("hostile cnn_vis initial image a decompression bomb", [*CNN_VIS_CONV3, "--initial_image", "{bomb}"], 2,
     r"--initial_image " + BOMB),
    ("hostile act_max seed 2**32", [*ACT_MAX, "--unit", "1", "--seed", "4294967296"], 2, SEED.format(4294967296)),
    ("hostile sampling seed 2**32", [*SAMPLING, "--units", "1", "--seed", "4294967296"], 2, SEED.format(4294967296)),
    ("hostile cnn_vis seed 2**32", [*CNN_VIS_CONV3, "--seed", "4294967296"], 2, SEED.format(4294967296)),
    ("hostile cnn_vis seed -1", [*CNN_VIS_CONV3, "--seed", "-1"], 2, SEED.format(-1)),
    *[(f"hostile cnn_vis {flag} 0", [*CNN_VIS_RUNS, flag, "0"], 2,
       rf"^cnn_vis\.py: error: {flag} 0: a scale the image is divided by; give one other than 0, e\.g\. 1\n$")
      for flag in ("--p_scale", "--p_scale_aux", "--tv_reg_scale")],
    ("hostile cnn_vis alpha 0.5", [*CNN_VIS_RUNS, "--alpha", "0.5"], 2,
     r"--alpha 0\.5: p of a p-norm is at least 1; give e\.g\. 6$"),
    ("hostile cnn_vis initial size huge", [*CNN_VIS_CONV3, "--initial_size", "100000x100000"], 2,
     r"--initial_size 100000x100000: over \d+ pixels, more than a picture can have here \(Pillow's limit\); give a "
     r"smaller size$"),
    ("hostile cnn_vis initial size x1e999", [*CNN_VIS_CONV3, "--initial_size", "x1e999"], 2,
     r"--initial_size x1e999: over \d+ pixels"),
    ("hostile cnn_vis initial size 0x0", [*CNN_VIS_CONV3, "--initial_size", "0x0"], 2,
     r"--initial_size 0x0: 0x0 is too small for the net's 27x27 input; give at least 27x27$"),
    ("hostile cnn_vis initial size x0 to x2", [*CNN_VIS_CONV3, "--initial_size", "x0", "--final_size", "x2",
                                               "--num_sizes", "3"], 2,
     r"--initial_size x0: 0x0 is too small for the net's 27x27 input; give at least 27x27$"),
    ("hostile cnn_vis final size too small", [*CNN_VIS_CONV3, "--initial_size", "40x40", "--final_size", "10x10",
                                              "--num_sizes", "2"], 2,
     r"--final_size 10x10: 10x10 is too small for the net's 27x27 input; give at least 27x27$"),
    ("hostile cnn_vis sizes between too large", [*CNN_VIS_CONV3, "--initial_size", "27x3000000", "--final_size",
                                                 "3000000x27", "--num_sizes", "3", "--resize_type", "linear"], 2,
     r"--initial_size 27x3000000 to --final_size 3000000x27: over \d+ pixels"),
    ("hostile cnn_vis initialization blur 1e308", [*CNN_VIS_CONV3, "--initialization_blur", "1e308"], 2,
     r"--initialization_blur 1e\+308: a blur \(sigma\) from 0 to the start image's largest side, 27 pixels; give "),
    ("hostile cnn_vis initialization blur -1", [*CNN_VIS_CONV3, "--initialization_blur", "-1"], 2,
     r"--initialization_blur -1\.0: a blur \(sigma\) from 0 to"),
    ("hostile sampling opt_layer conv1", [*SAMPLING, "--units", "1", "--opt_layer", "conv1"], 2,
     r"--opt_layer conv1: the encoder's conv1 is 8x12x12, the generator's code \(feat\) 64; give the encoder layer "),
    ("hostile act_max opt_layer conv1", [*ACT_MAX, "--unit", "1", *START, "{c_rgb_image}", "--opt_layer", "conv1"],
     2, r"--opt_layer conv1: the encoder's conv1 is 8x12x12, the generator's code \(feat\) 64; give "),
    ("hostile sampling gen_in_layer deconv0", [*SAMPLING, "--units", "1", "--gen_in_layer", "deconv0"], 2,
     r"--gen_in_layer deconv0: not the generator's input \(a layer computes it\); give its input, feat$"),
    ("hostile act_max gen_in_layer deconv0", [*ACT_MAX, "--unit", "1", "--gen_in_layer", "deconv0"], 2,
     r"--gen_in_layer deconv0: not the generator's input \(a layer computes it\); give its input, feat$"),
    ("hostile sampling binary synset file", [*SAMPLING, "--units", "1", "--synset_file", "{classifier_weights}"], 2,
     r"--synset_file \S*classifier\.caffemodel: a binary file, not text; give a label file with a line per unit"),
    ("hostile act_max empty bound", [*ACT_MAX, "--unit", "1", "--bound", "{i_empty_bound}"], 2,
     r"--bound \S*empty_bound\.txt: cannot read 64 bounds \(.*\); give one line of 64 numbers separated by spaces$"),
    ("hostile act_max bound of two lines", [*ACT_MAX, "--unit", "1", "--bound", "{i_two_line_bound}"], 2,
     r"--bound \S*two_lines\.txt: more than one line of bounds; give one line of 64 numbers"),
    ("hostile cnnpref empty BOUND_FILE", [CNNPREF_DGN], 2, r"BOUND_FILE \S*empty_bound\.txt: cannot read 64 bounds",
     dict(CNNPREF, GENERATOR_DEFINITION="{generator}", GENERATOR_WEIGHTS="{generator_weights}",
          BOUND_FILE="{i_empty_bound}")),
    ("hostile act_max grey net", [*ACT_MAX, "--unit", "1", "--net_definition", "{i_grey_net}", "--net_weights",
                                  "{tmp}/grey.caffemodel"], 2, GREY_NET),
    ("hostile cnn_vis grey net", [*CNN_VIS_CONV3, "--deploy_txt", "{i_grey_net}", "--caffe_model",
                                  "{tmp}/grey.caffemodel"], 2,
     r"the net's input 'data' has shape 1x1x27x27, not a colour image \(Nx3xHxW\); give a net that takes RGB"),
]


# --- rows: --objective, a weighted sum of units (issue 23) ----------------------
ROWS_OBJECTIVES = [
    ("objective act_max malformed", [*ACT_MAX, "--objective", "fc8:3 + * fc8:1"], 2,
     r"^act_max\.py: error: --objective 'fc8:3 \+ \* fc8:1': column 9: expected a term such as fc8:980"),
    ("objective act_max and unit", [*ACT_MAX, "--objective", "fc8:3", "--unit", "3"], 2,
     r"give the units to visualize: --unit \(e\.g\. --unit 945\) or --objective"),
    ("objective act_max unknown blob", [*ACT_MAX, "--objective", "fc8:3 + fc9:1"], 2,
     r"--objective fc9: the net has no blob or layer of this name; closest: fc8, fc7, fc6; --list_blobs lists them$"),
    ("objective act_max unit out of range", [*ACT_MAX, "--objective", "fc8:10"], 2,
     r"--objective fc8:10: fc8 has units 0\.\.9$"),
    ("objective act_max position outside", [*ACT_MAX, "--objective", "conv5:1@2,6"], 2,
     r"--objective conv5:1@2,6: position outside conv5, which is 6x6 \(y 0\.\.5, x 0\.\.5\)$"),
    ("objective act_max position on fc", [*ACT_MAX, "--objective", "fc8:1@0,0"], 2,
     r"--objective fc8:1@0,0: fc8 is not spatial \(10\); drop @0,0$"),
    ("objective sampling malformed", [*SAMPLING, "--objective", "fc8:"], 2,
     r"--objective 'fc8:': column 1: expected a term"),
    ("objective sampling unit out of range", [*SAMPLING, "--objective", "fc8:1 - 0.5*fc8:12"], 2,
     r"--objective fc8:12: fc8 has units 0\.\.9$"),
    ("objective cnn_vis position outside", [*CNN_VIS, "--objective", "conv5:1@9,0"], 2,
     r"--objective conv5:1@9,0: position outside conv5"),
    ("objective cnn_vis malformed", [*CNN_VIS, "--objective", "fc8:1 fc8:2"], 2,
     r"--objective 'fc8:1 fc8:2': column 7: expected \+ or - between terms"),
    ("objective cnnpref two blobs", [CNNPREF_GD], 2,
     r"OBJECTIVE=fc8:1 \+ conv5:2: cnnpref raises units of one layer, this sum has conv5, fc8; keep its terms in one "
     r"blob", dict(CNNPREF, OBJECTIVE="fc8:1 + conv5:2")),
    ("objective cnnpref malformed", [CNNPREF_GD], 2, r"OBJECTIVE 'fc8:1 \+': column 8: expected a term",
     dict(CNNPREF, OBJECTIVE="fc8:1 +")),
]

ROWS = (ROWS_ARGUMENTS + ROWS_MODELS + ROWS_FINITE + ROWS_CHECKS + ROWS_NEVER_DESTROY + ROWS_CAFFE + ROWS_NO_FILE
        + ROWS_HOSTILE + ROWS_OBJECTIVES)



@pytest.fixture
def places(tiny, shared_path, tmp_path, bomb_png):
    """The placeholders' values, with an earlier run's files in {out}."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "fc8_0001_02_1.0_2.0__0.jpg").write_bytes(b"an earlier run's image")
    (out / "samples").mkdir()
    (out / "samples" / "00000.jpg").write_bytes(b"an earlier run's sample")
    return {
        "classifier": tiny["classifier"][0], "classifier_weights": tiny["classifier"][1],
        "generator": tiny["generator"][0], "generator_weights": tiny["generator"][1],
        "bound": tiny["fc6_bound"],
        "synsets": str(shared_path("reference", "ppgn", "misc", "synset_words.txt")),
        "mean_mat": str(shared_path("reference", "ppgn", "misc", "ilsvrc_2012_mean.mat")),
        "mean_npy": str(shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")),
        "out": str(out), "tmp": str(tmp_path), "bomb": str(bomb_png),
    }


@pytest.mark.parametrize("command, status, line, row_env",
                         [(*row[1:4], row[4] if len(row) > 4 else {}) for row in ROWS], ids=[row[0] for row in ROWS])
def test_a_mistake_is_one_line_and_nothing_is_lost(command, status, line, row_env, places, tmp_path, repo, snapshot):
    import re
    values = dict(places)
    for word in [*command, *row_env.values()]:
        for name in re.findall(r"\{(\w+)\}", word):
            if name in MAKERS and name not in values:
                values[name] = str(MAKERS[name](tmp_path, places))
    argv = [word.format(**values) for word in command]
    program = argv[0] if argv[0].endswith(".sh") else None
    argv = [str(repo / argv[0])] + argv[1:] if program else [sys.executable, str(repo / argv[0])] + argv[1:]
    before = snapshot(places["out"])
    env = dict(os.environ, PREFINPUT_OFFLINE="1", OPENBLAS_NUM_THREADS="1",
               **{name: value.format(**values) for name, value in row_env.items()})
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == status, done.stdout[-2000:] + done.stderr[-2000:]
    if status == 2:
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
        assert re.search(line, done.stderr), done.stderr
    after = snapshot(places["out"])
    assert {name: after.get(name) for name in before} == before, "an earlier run's file changed or went"


def test_a_collage_tile_grows_rows_to_hold_every_image():
    """The driver's collage tile, as `montage -tile Cx` would grow it: never a second page."""
    from prefinput.collage import grown_tile
    assert grown_tile((5, 1), 5) == (5, 1)
    assert grown_tile((5, 1), 6) == (5, 2)
    assert grown_tile((10, 20), 3) == (10, 20)
