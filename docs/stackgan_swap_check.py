"""Does a StackGAN D on captioned_digits tell a caption from the same caption with another digit
word? (docs/text_to_image.md)

  python docs/stackgan_swap_check.py WORKDIR [--num N]

For N examples (image, caption) of each split, drawn with a fixed seed, the fraction where D's
conditioned logit is higher with the right caption than with its class-swapped version
(`captioned_digits.class_swapped`, the text of data.wrong_caption='class_swap'), and than with
another example's caption (the reference's wrong text), both through the run's own CA mean:
  eval     D with its batch-norm running averages, each text its own batch;
  batch    D in training mode, the N images twice in one batch, with the right and with the
           swapped text, so both are normalised by the same batch statistics.
0.5 is chance: D does not read the class from these images.
"""

from __future__ import annotations

import argparse
import sys

import jax.numpy as jnp
import numpy as np


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("workdir")
  parser.add_argument("--num", type=int, default=64)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)

  from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
  from jaxgan.data import captioned_digits as cd  # pylint: disable=g-import-not-at-top
  from jaxgan.models import stackgan as models  # pylint: disable=g-import-not-at-top

  config, _, state, step = _load_workdir(args.workdir)
  disc = models.StackGANDiscriminator(config.discriminator.df_dim,
                                      unconditional_head=config.stage == 2)
  variables = {"params": state.d_params, **state.d_state}
  size = config.stage1_size if config.stage == 1 else config.data.image_size
  mean = lambda e: models.ca_mean(state.g_params, jnp.asarray(e), config.condition_dim)

  def logits(images, mu, train):
    if train:
      out, _ = disc.apply(variables, jnp.asarray(images), mu, train=True,
                          mutable=list(state.d_state))
    else:
      out = disc.apply(variables, jnp.asarray(images), mu, train=False)
    return np.asarray(out["cond"]).ravel()

  for split in ("train", "test"):
    source = cd._source(split, size, config.data.text_encoder,  # pylint: disable=protected-access
                        tuple(range(len(cd.COLOUR_NAMES))), True)
    batch = source.get_batch(np.random.default_rng(0).choice(len(source), args.num,
                                                             replace=False))
    right = logits(batch["image"], mean(batch["embedding"]), False)
    swapped = logits(batch["image"], mean(batch["wrong_embedding"]), False)
    rolled = logits(batch["image"], jnp.roll(mean(batch["embedding"]), 1, 0), False)
    both = logits(np.concatenate([batch["image"], batch["image"]]),
                  mean(np.concatenate([batch["embedding"], batch["wrong_embedding"]])), True)
    print(f"{split} (step {step}, {args.num} examples): eval right>class-swapped "
          f"{np.mean(right > swapped):.3f}, right>another's {np.mean(right > rolled):.3f}; "
          f"batch right>class-swapped {np.mean(both[:args.num] > both[args.num:]):.3f}",
          flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
