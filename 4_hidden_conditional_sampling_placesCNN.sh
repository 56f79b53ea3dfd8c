#!/bin/bash
#
# PPGN example 4: example 3 on another condition net, a conv5 channel of the
# AlexNet trained on MIT Places205, with a weaker prior (epsilon1 = 1e-7);
# e.g. ./4_hidden_conditional_sampling_placesCNN.sh 182 ("food detector").
# Environment overrides as for example 3 (see docs/ppgn.md).
set -e
here=$(cd "$(dirname "$0")" && pwd)
nets=${NETS_DIR:-$here/nets}

# Condition net
export NET_WEIGHTS=${NET_WEIGHTS:-$nets/placesCNN/places205CNN_iter_300000.caffemodel}
export NET_DEFINITION=${NET_DEFINITION:-$nets/placesCNN/places205CNN_deploy_updated.prototxt}

PPGN_EXAMPLE=4 EPSILON1=${EPSILON1:-1e-7} exec "$here/3_hidden_conditional_sampling.sh" "$@"
