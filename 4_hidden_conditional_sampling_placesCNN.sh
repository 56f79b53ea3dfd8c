#!/bin/bash
#
# PPGN example 4: example 3 on another condition net, a conv5 channel of the
# AlexNet trained on MIT Places205, with a weaker prior (epsilon1 = 1e-7);
# e.g. ./4_hidden_conditional_sampling_placesCNN.sh 182 ("food detector").
# Environment overrides as for example 3: N_ITERS, XY, THRESHOLD, EPSILON1,
# OUTPUT_DIR (default output), NET_DEFINITION / NET_WEIGHTS,
# PPGN_GENERATOR_*, ENCODER_*, NETS_DIR, PYTHON (see docs/ppgn.md).
# Downloads on first use, where missing (nets/download.sh NAME): placesCNN, caffenet, ppgn_generator, mean, misc.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"
one_argument UNIT "Provide 1 output unit number e.g. 182 for food." "$@"

# Condition net
export NET_WEIGHTS=${NET_WEIGHTS:-$nets/placesCNN/places205CNN_iter_300000.caffemodel}
export NET_DEFINITION=${NET_DEFINITION:-$nets/placesCNN/places205CNN_deploy_updated.prototxt}

PPGN_EXAMPLE=4 EPSILON1=${EPSILON1:-1e-7} exec "$here/3_hidden_conditional_sampling.sh" "$@"
