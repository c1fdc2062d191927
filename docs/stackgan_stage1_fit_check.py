"""How fast does StackGAN's Stage-I G learn each attribute when told it? (docs/text_to_image.md)

  python docs/stackgan_stage1_fit_check.py [--gf-dim 32] [--steps 4000] [--out SWEEP.png]

Trains the Stage-I G of configs/stackgan_digits.py (its sizes, z, Adam and batch; no CA) on
captioned_digits by a plain L2 loss instead of a discriminator: its text is the multi-hot vector
of every attribute of the render (all named, as no caption does), its target the render
area-downscaled to Stage-I's size; z is drawn as in training, so G learns the mean image over
what the attributes leave open (the handwriting). Every 1000 steps it prints the attribute
reader's accuracy on G's images for 500 fixed test renders' attributes (nearest-upscaled, as
the evaluator scores Stage-I), and the class accuracy of a sweep: 8 of those attribute sets with
the class set to each of the ten digits (--out: the last sweep as a picture, a row per
attribute set, digits 0-9 across, enlarged 4x). An attribute this G does not learn here, where every
pixel of the target tells it, it cannot be expected to learn from a discriminator's verdict.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs",
                      "stackgan_digits.py")
TEST_SEED = 2017  # which 500 test renders


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--gf-dim", type=int, default=32)
  parser.add_argument("--steps", type=int, default=4000)
  parser.add_argument("--out", default="", help="PNG of the last class sweep")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.gf_dim < 1 or args.steps < 0:
    parser.error(f"--gf-dim must be >= 1 and --steps >= 0, got {args.gf_dim} and {args.steps}")
  if args.out:  # refuse an unwritable picture now, not after the training
    out_dir = os.path.dirname(os.path.abspath(args.out))
    try:
      os.makedirs(out_dir, exist_ok=True)
    except OSError as error:
      parser.error(f"--out: cannot create {out_dir}: {error.strerror}")
    if not os.access(out_dir, os.W_OK):
      parser.error(f"--out: {out_dir} is not writable")

  from jaxgan.config import load_config_file  # pylint: disable=g-import-not-at-top
  from jaxgan.data import captioned_digits as cd  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics.captioned import attribute_accuracy  # pylint: disable=g-import-not-at-top
  from jaxgan.models import stackgan as models  # pylint: disable=g-import-not-at-top
  from jaxgan.text.encoder import multihot_embeddings  # pylint: disable=g-import-not-at-top
  from jaxgan.train.stackgan import (  # pylint: disable=g-import-not-at-top
      _upscale_nearest, area_downscale)
  from jaxgan.visualize import image_grid, save_png, to_uint8  # pylint: disable=g-import-not-at-top

  config = load_config_file(CONFIG)
  size, low_size = config.data.image_size, config.stage1_size

  def every_attribute_named(attributes):
    named = {a: np.ones((len(attributes["class"]), 1), bool) for a in cd.ATTRIBUTES}
    return multihot_embeddings(attributes, named)[:, 0]

  train = cd.captioned_digits("train")
  train_text = every_attribute_named(train["attributes"])
  test = cd.captioned_digits("test")
  pick = np.random.default_rng(TEST_SEED).choice(len(test["images"]), 500, replace=False)
  attributes = {a: v[pick] for a, v in test["attributes"].items()}
  sweep = {a: np.repeat(v[:8], 10) for a, v in attributes.items()}
  sweep["class"] = np.tile(np.arange(10), 8)
  test_text, sweep_text = (jnp.asarray(every_attribute_named(a)) for a in (attributes, sweep))

  g = models.Stage1Generator(low_size, args.gf_dim, config.condition_dim, ca=False)
  latent = config.latent_dim
  params = g.init({"params": jax.random.PRNGKey(0), "noise": jax.random.PRNGKey(1)},
                  jnp.zeros((2, latent)), test_text[:2], train=True)
  tx = optax.adam(config.optimizer.g.lr, b1=config.optimizer.g.b1, b2=config.optimizer.g.b2)
  opt = tx.init(params["params"])

  def generate(p, stats, z, text):
    (out, _, _), new = g.apply({"params": p, **stats}, z, text, train=True,
                               mutable=["batch_stats"])
    return out, new

  def loss_fn(p, stats, z, image, text):
    out, new = generate(p, stats, z, text)
    return jnp.mean((out - area_downscale(image, size // low_size)) ** 2), new

  @jax.jit
  def step(p, stats, opt, z, image, text):
    (loss, new), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, stats, z, image, text)
    updates, opt = tx.update(grads, opt, p)
    return optax.apply_updates(p, updates), new, opt, loss

  @jax.jit
  def images(p, stats, z, text):
    return generate(p, stats, z, text)[0]

  rng, eval_rng = np.random.default_rng(0), np.random.default_rng(1)
  noise = lambda r, n: jnp.asarray(r.standard_normal((n, latent)), jnp.float32)
  p, stats = params["params"], {"batch_stats": params["batch_stats"]}
  start = time.process_time()
  for i in range(args.steps + 1):
    if i % 1000 == 0 or i == args.steps:
      out = np.asarray(images(p, stats, noise(eval_rng, len(pick)), test_text))
      read = attribute_accuracy(_upscale_nearest(out, size), attributes)
      swept = np.asarray(images(p, stats, noise(eval_rng, len(sweep_text)), sweep_text))
      swept_class = attribute_accuracy(_upscale_nearest(swept, size), sweep)["class"]
      print(f"step {i} ({time.process_time() - start:.0f} CPU s): "
            + ", ".join(f"{a} {v:.3f}" for a, v in read.items())
            + f"; class sweep {swept_class:.3f}", flush=True)
    if i == args.steps:
      if args.out:
        save_png(image_grid(to_uint8(_upscale_nearest(swept, 4 * low_size)), 10), args.out)
      break
    chosen = rng.choice(len(train_text), config.batch_size, replace=False)
    image = jnp.asarray(train["images"][chosen], jnp.float32) / 127.5 - 1.0
    p, stats, opt, _ = step(p, stats, opt, noise(rng, config.batch_size), image,
                            jnp.asarray(train_text[chosen]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
