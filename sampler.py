"""Plug & Play Generative Networks (Nguyen et al. 2017): the sampler.

A code h is moved by Eq. 11 of the paper,

    h += step / mean|d_h| * d_h,   d_h = eps1 * (E(G(h)) - h)          prior (a DAE on h)
                                       + eps2 * d log p(y|G(h)) / dh   condition
                                       + N(0, eps3^2)                  noise
                                       + eps4 * d context / dh         inpainting only

clipped to [0, 30] after each step.  G is the generator (h -> image), E the
encoder (image -> h) and p(y|x) the condition net; subclasses say what the
condition is (a class, a hidden unit, a caption)."""
import sys

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
import numpy as np
from numpy.linalg import norm

from ppgn import chains, masks
from prefinput.cli import run
from prefinput.errors import UserError
from prefinput.netdefs import loading
from prefinput.results import Frame, Result
from prefinput.steps import centre_crop, check_finite, image_size, input_blob, normalised_step, schedule

DIVERGED = "try a smaller --lr or --epsilon1, --epsilon2, --epsilon3"


class Sampler:

    def backward_from_x_to_h(self, generator, diff, start, end):
        """Backpropagate an image gradient (at blob `end`) to the code (`start`)."""
        dst = generator.blobs[end]
        dst.diff[...] = diff
        generator.backward(start=loading.layer_of(generator, end, last=True))
        g = generator.blobs[start].diff.copy()
        dst.diff.fill(0.)  # reset the objective after each step
        return g

    def h_autoencoder_grad(self, h, generator, encoder, gen_in_layer, gen_out_layer, code_layer, inpainting):
        """The prior term E(G(h)) - h: the gradient of log p(h) that an
        autoencoder of h gives (Alain & Bengio 2014), here the "upside down"
        autoencoder h -> x -> h made of G and E."""
        generator.forward(**{gen_in_layer: h})
        x = generator.blobs[gen_out_layer].data.copy()

        # Crop the generator's image (256x256) to the encoder's input (227x227)
        cropped_x = x[centre_crop(x.shape, image_size(encoder))]
        if inpainting is not None:
            cropped_x = masks.apply_mask(img=cropped_x, mask=inpainting['mask'], context=inpainting['image'])

        # no further than the code's last writer (its ReLU): the rest is unused
        encoder.forward(**{input_blob(encoder): cropped_x}, end=loading.layer_of(encoder, code_layer, last=True))
        code = encoder.blobs[code_layer].data
        return code - h

    def sampling(self, condition_net, image_encoder, image_generator,
                 gen_in_layer, gen_out_layer, start_code,
                 n_iters, lr, lr_end, threshold,
                 layer, conditions,
                 epsilon1=1, epsilon2=1, epsilon3=1e-10,
                 inpainting=None,
                 chain=None, reset_every=0, save_every=1, code_layer='fc6'):
        """Run the chain: `n_iters` + 1 steps on each condition in turn.
        Returns the last sample (1x3xHxW, BGR) and the kept samples, a list
        of chains.Sample (image, file name, label, unit), each written by
        `chain` (a chains.Chain; needed when save_every > 0) as it is kept."""
        # the condition net's view of the generator's image
        inside = centre_crop(image_generator.blobs[gen_out_layer].data.shape, image_size(condition_net))

        src = image_generator.blobs[gen_in_layer]
        assert src.data.shape == start_code.shape, "the start code does not fit the generator's input"

        last_xx = np.zeros(condition_net.blobs[input_blob(condition_net)].data.shape)  # the last sample
        last_prob = -sys.maxsize
        h = start_code.copy()
        condition_idx = 0
        list_samples = []
        i = 0

        while True:
            step_size = schedule(lr, lr_end, i, n_iters)
            condition = conditions[condition_idx]

            # 1. The epsilon1 term: d log p(h) / dh
            check_finite(h, "code", i, DIVERGED)
            d_prior = self.h_autoencoder_grad(h=h, generator=image_generator, encoder=image_encoder,
                                              gen_in_layer=gen_in_layer, gen_out_layer=gen_out_layer,
                                              code_layer=code_layer, inpainting=inpainting)

            # 2. The epsilon2 term: x = G(h), crop it to the condition net's input.  Step 1 has
            # just computed G(h) (the original computed it again, the same numbers)
            x = image_generator.blobs[gen_out_layer].data.copy()
            cropped_x = x[inside]
            cropped_x_copy = cropped_x.copy()
            if inpainting is not None:
                cropped_x = masks.apply_mask(img=cropped_x, mask=inpainting['mask'], context=inpainting['image'])

            # d log p(y|x) / dx through the condition net ...
            d_condition_x, prob, info = self.forward_backward_from_x_to_condition(
                net=condition_net, end=layer, image=cropped_x, condition=condition)

            if inpainting is not None:
                # ... only inside the hole; outside it, match the context image
                d_condition_x[:] *= inpainting['mask']
                d_context_x256 = np.zeros_like(x)
                d_context_x256[inside] = (inpainting['image'] - cropped_x_copy) * inpainting['mask_neg']
                d_context_h = self.backward_from_x_to_h(generator=image_generator, diff=d_context_x256,
                                                        start=gen_in_layer, end=gen_out_layer)

            # ... and on through the generator to h: d log p(y|h) / dh
            check_finite(d_condition_x, "image gradient", i, DIVERGED)  # it goes back into the generator
            d_condition_x256 = np.zeros_like(x)
            d_condition_x256[inside] = d_condition_x.copy()
            d_condition = self.backward_from_x_to_h(generator=image_generator, diff=d_condition_x256,
                                                    start=gen_in_layer, end=gen_out_layer)

            self.print_progress(i, info, condition, prob, d_condition)

            # 3. The epsilon3 term: Gaussian noise
            noise = np.zeros_like(h)
            if epsilon3 > 0:
                noise = np.random.normal(0, epsilon3, h.shape)

            # Eq. 11, plus the epsilon4 context term when inpainting
            d_h = epsilon1 * d_prior + epsilon2 * d_condition + noise
            if inpainting is not None:
                d_h += inpainting['epsilon4'] * d_context_h

            h += normalised_step(d_h, step_size)
            h = np.clip(h, a_min=0, a_max=30)  # keep the code within a realistic range

            # For diversity in long chains: a fresh random code (and a random epsilon1) every N steps
            if reset_every > 0 and i % reset_every == 0 and i > 0:
                h = np.random.normal(0, 1, h.shape)
                epsilon1 = np.random.uniform(low=1e-6, high=1e-2)

            last_xx = cropped_x.copy()
            last_prob = prob

            # Keep every N-th sample that passes the threshold
            if save_every > 0 and i % save_every == 0 and prob > threshold:
                list_samples.append(chain.keep(last_xx, i, self.get_label(condition), condition.get('unit')))

            if norm(d_h) == 0:
                print(" d_h is 0")
                break

            # Next condition every n_iters steps
            if i > 0 and i % n_iters == 0:
                condition_idx += 1
                if condition_idx == len(conditions):
                    break

            i += 1

        print("-------------------------")
        print("Last sample: prob [%s] " % last_prob)
        return last_xx, list_samples


def sampling_settings(args):
    """Sampler.sampling's settings from either sampling program's command line."""
    return dict(gen_in_layer=args.gen_in_layer, gen_out_layer=args.gen_out_layer,
                n_iters=args.n_iters, lr=args.lr, lr_end=args.lr_end, threshold=args.threshold,
                layer=args.act_layer, epsilon1=args.epsilon1, epsilon2=args.epsilon2, epsilon3=args.epsilon3,
                reset_every=args.reset_every, save_every=args.save_every,
                code_layer=args.opt_layer)


def save_results(args, filename, shown, last_sample, samples, unit=None, objective=None):
    """The final image `shown` and (--save_raw) the arrays, written as the
    original named them (the kept samples were written as made); returns the Result the example
    driver reads (`unit`: the condition the final image was made under; `objective`: its sum of units)."""
    chains.save_results(filename, shown, last_sample, samples, raw_settings=vars(args) if args.save_raw else None)
    return Result(filename, unit, None, [Frame(sample.file, sample.unit) for sample in samples], objective)


LIBRARY = ("sampler.py is the samplers' library, not a program: run sampling_class.py (a class or a hidden "
           "unit) or sampling_caption.py (a caption); see their --help")


def main(argv):
    """Run as a program: say what to run instead (exit 0 for --help, else 2)."""
    if argv in (["-h"], ["--help"]):
        print(LIBRARY)
        return 0
    raise UserError(LIBRARY)


if __name__ == '__main__':
    run(main, sys.argv[1:])
