"""The default paths and switches of the programs (settings.py shows them).

Like the originals' settings.py, but the models live under `nets_dir`, which
`nets/download.sh` fills (set NETS_DIR to keep them elsewhere, e.g. the
Docker image's volume).  Every name here can be overridden by an environment
variable of the same name in capitals, and by the scripts' flag of the same
name, e.g. GENERATOR_WEIGHTS=... or --generator_weights ...
"""
import os

gpu = False  # Caffe's GPU mode needs a CUDA build (see docs/docker.md)

nets_dir = os.environ.get("NETS_DIR") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                      "nets")


def _in_nets(*parts):
    return os.path.join(nets_dir, *parts)


# DGN-AM (act_max.py): the network being visualised; act_max.py's flags override it
net_definition = _in_nets("caffenet", "caffenet.prototxt")
net_weights = _in_nets("caffenet", "bvlc_reference_caffenet.caffemodel")

# DGN-AM generator: Dosovitskiy & Brox's up-convolutional net inverting fc6
generator_definition = _in_nets("upconv", "fc6", "generator.prototxt")
generator_weights = _in_nets("upconv", "fc6", "generator.caffemodel")

# Encoder: gives the starting code of a real image (--init_file)
encoder_definition = _in_nets("caffenet", "caffenet.prototxt")
encoder_weights = _in_nets("caffenet", "bvlc_reference_caffenet.caffemodel")

# PPGN: the noiseless joint generator G and its input/output layers
ppgn_generator_definition = _in_nets("generator", "noiseless", "generator.prototxt")
ppgn_generator_weights = _in_nets("generator", "noiseless", "generator.caffemodel")
ppgn_generator_in_layer = "feat"
ppgn_generator_out_layer = "deconv0"

# PPGN captions: the LRCN captioner's LSTM (its weights are in the LRCN caffemodel, the condition net's)
captioner_definition = _in_nets("lrcn", "lrcn_word_to_preds.deploy.prototxt")

# Data files of the original repositories
synset_file = _in_nets("data", "misc", "synset_words.txt")
places_label_file = _in_nets("data", "misc", "categoryIndex_places205.txt")
vocab_file = _in_nets("data", "misc", "vocabulary.txt")
sentence_file = _in_nets("data", "misc", "sentences.txt")
act_range_dir = _in_nets("data", "act_range")
mean_file_mat = _in_nets("data", "ilsvrc_2012_mean.mat")
mean_file_npy = _in_nets("data", "ilsvrc_2012_mean.npy")
images_dir = _in_nets("data", "images")
