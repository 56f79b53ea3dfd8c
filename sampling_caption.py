#!/usr/bin/env python3
"""PPGN sampling conditioned on a caption: the LRCN captioner (a CaffeNet
feature extractor and an LSTM) scores how well a sentence describes the image.

    ./sampling_caption.py --sentence a_red_car_on_a_road --act_layer fc8 \\
        --net_definition nets/caffenet/caffenet.prototxt \\
        --net_weights nets/lrcn/lrcn_caffenet_iter_110000.caffemodel \\
        --captioner_definition nets/lrcn/lrcn_word_to_preds.deploy.prototxt
"""
import os

os.environ.setdefault('GLOG_minloglevel', '2')  # quiet Caffe

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
import numpy as np
from numpy.linalg import norm

from ppgn import chains, codes, options
from prefinput import cli, objectives
from prefinput.cli import add_setting_flags, print_settings
from prefinput.errors import UserError
from prefinput.files import hold_output_folder
from prefinput.netdefs import loading
from prefinput.program import Loaded, Units
from prefinput.registry import fetching
from prefinput.steps import check_covers, input_blob
from sampler import Sampler, sampling_settings, save_results

# The LRCN captioner's blobs: it reads the image's features, and gives the
# log-probability of each word of the vocabulary
FEATURES = "image_features"
LSTM_OUTPUT = "log_prob"

# The program interface (prefinput/program.py): what a chain is conditioned on is a sentence, its own folder
UNITS = (Units("sentence", numbered=False, folder_per_unit=True),)
NET_FLAGS = options.NET_FLAGS


class CaptionConditionalSampler(Sampler):

    def __init__(self, lstm):
        self.lstm = lstm
        # Backward stops at the layer that reads the features: nothing below it
        # leads to them (and Caffe's Embed layer refuses the backward to its
        # word input that force_backward would ask for)
        self.feature_reader = next(layer for layer, bottoms in lstm.bottom_names.items() if FEATURES in bottoms)

    def forward_backward_from_x_to_condition(self, net, end, image, condition):
        """The gradient of sum_t log p(word_t | words before, features(image))
        with respect to the image: the LSTM reads the sentence one word at a
        time, each word's gradient reaches the features, their sum goes back
        through the feature extractor."""
        data = input_blob(net)
        src = net.blobs[data]
        dst = net.blobs[end]
        sentence = condition['sentence']

        # The features do not change from word to word (the original recomputed them for each)
        net.forward(**{data: image}, end=loading.layer_of(net, end))
        descriptor = net.blobs[end].data

        grad_sum = np.zeros_like(self.lstm.blobs[FEATURES].data)
        probs = []
        for idx, word in enumerate(sentence):
            previous_word = sentence[idx - 1] if idx > 0 else 0  # 0 starts a sentence
            cont_input = np.array([0 if previous_word == 0 else 1])
            word_input = np.array([previous_word])

            image_features = np.zeros_like(self.lstm.blobs[FEATURES].data)
            image_features[:] = descriptor
            self.lstm.forward(image_features=image_features, cont_sentence=cont_input,
                              input_sentence=word_input, end=LSTM_OUTPUT)

            # The whole batch holds copies of one stream; the original reads stream idx
            probs.append(self.lstm.blobs["probs"].data[0, idx, word])
            self.lstm.blobs[LSTM_OUTPUT].diff[:, :, word] = 1
            diffs = self.lstm.backward(start=LSTM_OUTPUT, end=self.feature_reader, diffs=[FEATURES])
            grad_sum += diffs[FEATURES]
            self.lstm.blobs[LSTM_OUTPUT].diff.fill(0.)  # reset the objective after each word

        obj_prob = np.mean(probs)  # the mean probability of the words

        dst.diff[...] = grad_sum[0]
        net.backward(start=loading.layer_of(net, end))
        g = src.diff.copy()
        dst.diff.fill(0.)  # reset the objective after each step
        return g, obj_prob, {}

    def get_label(self, condition):
        return condition['readable']

    def print_progress(self, i, info, condition, prob, grad):
        print("step: %04d\t %s [%.2f]\t norm: [%.2f]" % (i, condition['readable'], prob, norm(grad)))


def words_to_numbers(vocab_file, words):
    """Vocabulary indices + 1 of the words, then 0 to end the sentence."""
    with open(vocab_file, 'r') as f:
        index = {w: n for n, w in reversed(list(enumerate(f.read().splitlines())))}
    unknown = [w for w in words if w not in index]
    if unknown:
        raise UserError(f"word {unknown[0]!r} is not in the vocabulary {vocab_file}; "
                        f"use words from it, joined by _")
    return [index[w] + 1 for w in words] + [0]


def parse_args(argv=None):
    parser = options.sampling_parser(__doc__.split("\n\n")[0])
    parser.add_argument('--sentence', metavar='w', type=str, default="", nargs='?',
                        help='Sentence to condition on, words joined by _')
    add_setting_flags(parser, ['captioner_definition', 'vocab_file'])
    args = options.parse(parser, argv)
    if not args.sentence:
        raise UserError("--sentence is required: words joined by _, e.g. a_red_car_on_a_road")
    return args


def needed_files(args):
    return [args.net_definition, args.net_weights, args.captioner_definition, args.vocab_file] + \
        options.image_net_files(args.encoder_definition, args.encoder_weights, args.generator_definition,
                                args.generator_weights, args.init_file, args.mean_file_mat)


def load_nets(args):
    """The feature extractor and the LSTM (one weights file holds both), the
    encoder and the generator, every file fetched first and the sentence checked."""
    fetching.require(needed_files(args), offline=args.offline)
    net = loading.load(args.net_definition, args.net_weights)
    lstm = loading.load(args.captioner_definition, args.net_weights)
    encoder, generator = codes.load_image_nets(args.encoder_definition, args.encoder_weights,
                                               args.generator_definition, args.generator_weights,
                                               args.gen_in_layer, args.gen_out_layer, args.opt_layer,
                                               init_file=args.init_file)
    check_covers(generator, args.gen_out_layer, net, 'the condition net')
    loaded = Loaded(classifier=net, lstm=lstm, encoder=encoder, generator=generator)
    check_units(args, loaded)
    return loaded


def check_units(args, loaded):
    caption_condition(args, loaded.classifier, loaded.lstm)


def caption_condition(args, net, lstm):
    """The sentence as the LSTM reads it, checked against both nets."""
    sentence = words_to_numbers(args.vocab_file, args.sentence.split("_"))
    batch = lstm.blobs[FEATURES].data.shape[0]
    if len(sentence) > batch:
        raise UserError(f"the sentence has {len(sentence) - 1} words; the captioner reads at most {batch - 1}")
    objectives.check_blob(net, args.act_layer, "--act_layer", "the feature extractor")
    if net.blobs[args.act_layer].data[0].size != lstm.blobs[FEATURES].data[0].size:
        raise UserError(f"--act_layer {args.act_layer} does not give the {lstm.blobs[FEATURES].data[0].size} "
                        f"features the captioner reads")
    return {"sentence": sentence, "readable": args.sentence.replace("_", " ")}


def sample(args, loaded):
    """One chain with the nets already loaded; returns what it made (a Result)."""
    net, lstm, encoder, generator = loaded.classifier, loaded.lstm, loaded.encoder, loaded.generator
    conditions = [caption_condition(args, net, lstm)]

    np.random.seed(args.seed)
    if args.init_file:
        start_code, _ = codes.encode_image(encoder, args.init_file, args.opt_layer, args.mean_file_mat)
        print("Loaded start code: ", start_code.shape)
    else:
        start_code = codes.normal_code(generator, args.gen_in_layer)

    sampler = CaptionConditionalSampler(lstm)
    with chains.kept_samples(args.output_dir, args.save_every, args.write_labels, args.save_raw) as chain:
        output_image, list_samples = sampler.sampling(
            condition_net=net, image_encoder=encoder, image_generator=generator, start_code=start_code,
            conditions=conditions, chain=chain, **sampling_settings(args))

        filename = "%s/%s_%04d_%s_h_%s_%s_%s__%s.jpg" % (
            args.output_dir, args.act_layer, args.n_iters, args.lr,
            args.epsilon1, args.epsilon2, args.epsilon3, args.seed)
        return save_results(args, filename, output_image, output_image, list_samples)


def run(args, loaded):
    """The program interface's run (prefinput/program.py): the chain's Result."""
    return [sample(args, loaded)]


def units_of(args):
    return []  # a sentence names no unit


output_argv, output_folder, sweep_problem = options.output_argv, options.output_folder, options.sweep_problem


def scoring(args, size):
    """Not scored: no unit of the feature extractor is what the chain raises."""
    return dict(net=None, layer=args.act_layer, xy=args.xy, panel_size=size, act_region=None)


def main(argv=None):
    args = parse_args(argv)
    loaded = load_nets(args)  # first, so that a mistake stops the program in one line
    print_settings(args, ['sentence', 'n_iters', 'reset_every', 'save_every', 'threshold',
                          'epsilon1', 'epsilon2', 'epsilon3', 'lr', 'lr_end', 'seed',
                          'opt_layer', 'act_layer', 'init_file', 'output_dir',
                          'net_weights', 'net_definition', 'captioner_definition'])
    with hold_output_folder(args.output_dir, "--output_dir"):  # one chain at a time into a folder (its samples/)
        sample(args, loaded)


if __name__ == '__main__':
    cli.run(main)
