"""Can StackGAN's Stage-II generator learn to upscale at all? (docs/text_to_image.md)

  python docs/stackgan_stage2_fit_check.py [--gf-dim 32] [--steps 300]

Trains the Stage-II G of configs/stackgan_digits.py (its sizes, Adam and batch; multi-hot text,
no CA) on captioned_digits with a plain L1 loss instead of a discriminator: its input is the
real 64x64 render area-downscaled to 16x16 (a perfect Stage-I image), its target the render
itself; Adam 2e-4, beta1 0.5 (the GAN's), batch 64, seeded. Prints, every 50 steps, the L1 on
256 held-out test renders and the spread of the images' mean colours (std over images, per
channel, averaged; the renders' is 0.58), next to the L1 of the nearest-upscaled 16x16 input
(what a G that only copies its input would score). A G that cannot approach the copy here cannot
be expected to in the adversarial game, where its signal is weaker.
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs",
                      "stackgan_digits.py")

def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--gf-dim", type=int, default=32)
  parser.add_argument("--steps", type=int, default=300)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.gf_dim < 1 or args.steps < 0:
    parser.error(f"--gf-dim must be >= 1 and --steps >= 0, got {args.gf_dim} and {args.steps}")

  from jaxgan.config import load_config_file  # pylint: disable=g-import-not-at-top
  from jaxgan.data import captioned_digits as cd  # pylint: disable=g-import-not-at-top
  from jaxgan.models import stackgan as models  # pylint: disable=g-import-not-at-top
  from jaxgan.train.stackgan import (  # pylint: disable=g-import-not-at-top
      _upscale_nearest, area_downscale)

  config = load_config_file(CONFIG)
  size, factor = config.data.image_size, config.data.image_size // config.stage1_size

  everything = tuple(range(len(cd.COLOUR_NAMES)))
  source = cd._source  # pylint: disable=protected-access
  train = source("train", size, "multihot", everything, False)
  test = source("test", size, "multihot", everything, False)
  held = test.get_batch(np.random.default_rng(1).choice(len(test), 256, replace=False))
  g = models.Stage2Generator(size, args.gf_dim, config.condition_dim,
                             r_num=config.generator.r_num, ca=False)
  rng = np.random.default_rng(0)
  low = lambda x: area_downscale(jnp.asarray(x), factor)
  params = g.init({"params": jax.random.PRNGKey(0), "noise": jax.random.PRNGKey(1)},
                  low(held["image"][:2]), jnp.asarray(held["embedding"][:2]), train=True)
  tx = optax.adam(config.optimizer.g.lr, b1=config.optimizer.g.b1, b2=config.optimizer.g.b2)
  opt = tx.init(params["params"])

  def loss_fn(p, stats, image, embedding):
    (out, _, _), new = g.apply({"params": p, **stats}, low(image), embedding, train=True,
                               mutable=["batch_stats"])
    return jnp.mean(jnp.abs(out - image)), new

  @jax.jit
  def step(p, stats, opt, image, embedding):
    (loss, new), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, stats, image, embedding)
    updates, opt = tx.update(grads, opt, p)
    return optax.apply_updates(p, updates), new, opt, loss

  @jax.jit
  def held_out(p, stats):
    (out, _, _), _ = g.apply({"params": p, **stats}, low(held["image"]),
                             jnp.asarray(held["embedding"]), train=True, mutable=["batch_stats"])
    return jnp.mean(jnp.abs(out - held["image"])), jnp.mean(jnp.std(out.mean((1, 2)), 0))

  copy = _upscale_nearest(np.asarray(low(held["image"])), size)
  copy_l1 = float(jnp.mean(jnp.abs(copy - held["image"])))
  spread = float(jnp.mean(jnp.std(held["image"].mean((1, 2)), 0)))
  print(f"gf_dim {args.gf_dim}: copy of the input L1 {copy_l1:.3f}, renders' colour spread "
        f"{spread:.3f}", flush=True)
  p, stats = params["params"], {"batch_stats": params["batch_stats"]}
  for i in range(args.steps + 1):
    if i % 50 == 0:
      l1, spread = held_out(p, stats)
      print(f"step {i}: held-out L1 {float(l1):.3f}, colour spread {float(spread):.3f}",
            flush=True)
    if i == args.steps:
      break
    batch = train.get_batch(rng.choice(len(train), config.batch_size, replace=False))
    p, stats, opt, _ = step(p, stats, opt, jnp.asarray(batch["image"]),
                            jnp.asarray(batch["embedding"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
