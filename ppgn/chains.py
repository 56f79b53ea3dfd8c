"""A chain's results: each kept sample written when it is made (so an
interrupted chain keeps them), swapped in when the run succeeds, and the
final image with its arrays."""
import contextlib
import json
import os
from collections import namedtuple

import numpy as np

from prefinput import collage
from prefinput.files import atomic_folder, atomic_path, save_raw
from prefinput.image import save_image


# A kept sample: the image (1x3xHxW BGR; None unless --save_raw needs it), its
# file, its label and the unit it was conditioned on
Sample = namedtuple('Sample', 'image file label unit')


def sample_name(output_dir, i):
    return "%s/samples/%05d.jpg" % (output_dir, i)


@contextlib.contextmanager
def kept_samples(output_dir, save_every, write_labels, keep_images):
    """The Chain a run's kept samples are written to as they are made (None
    when `save_every` is 0: then <output_dir>/samples is not touched; with
    `keep_images`, each Sample also holds its array).  They go
    into a new folder beside <output_dir>/samples, which replaces it when the
    run succeeds; a failed or interrupted run leaves samples/ as it was and
    what it made in samples.partial/ (files.atomic_folder)."""
    if save_every <= 0:
        yield None
        return
    os.makedirs(output_dir, exist_ok=True)
    with atomic_folder(os.path.dirname(sample_name(output_dir, 0))) as folder:
        yield Chain(output_dir, folder, write_labels, keep_images)


class Chain:
    """Writes each kept sample when it is made (so an interrupted chain keeps
    them) into `folder`, under the name it has once `folder` is swapped in."""

    def __init__(self, output_dir, folder, write_labels, keep_images):
        self.output_dir, self.folder, self.write_labels, self.keep_images = \
            output_dir, folder, write_labels, keep_images

    def keep(self, image, i, label, unit):
        """Write sample `i` (with its label if asked); returns its Sample."""
        name = sample_name(self.output_dir, i)
        path = os.path.join(self.folder, os.path.basename(name))
        if self.write_labels:  # labelled under its temporary name: the file appears whole, label and all
            with atomic_path(path) as labelled:
                save_image(image, labelled)
                collage.label_below(labelled, str(label))
        else:
            save_image(image, path)
        return Sample(image.copy() if self.keep_images else None, name, label, unit)


def save_results(filename, output_image, last_sample, samples, raw_settings=None):
    """Write the final image and, given `raw_settings` (the run's settings,
    recorded), the arrays beside it (the samples are written as they are made)."""
    os.makedirs(os.path.dirname(filename) or '.', exist_ok=True)
    save_image(output_image, filename)
    print(os.path.join(os.getcwd(), filename))
    if raw_settings is not None:
        save_raw(filename, **raw_arrays(last_sample, samples, raw_settings))


def raw_arrays(last_sample, samples, settings):
    """The arrays --save_raw keeps: the last sample and the kept ones (float32
    BGR), the kept samples' file names and the run's settings."""
    shape = (0,) + last_sample.shape
    stacked = np.stack([sample.image for sample in samples]) if samples else np.zeros(shape, np.float32)
    return dict(image=np.asarray(last_sample, np.float32), samples=stacked.astype(np.float32),
                sample_names=np.array([os.path.basename(sample.file) for sample in samples]), args=json.dumps(settings))
