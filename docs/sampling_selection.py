"""Sampling-time remedies for in-between digits, scored on one checkpoint (docs/quality.md,
the DCGAN section's fourth pass).

Usage:
  .venv/bin/python docs/sampling_selection.py WORKDIR [--step STEP] [--num 1000]
      [--levers truncation,psi,d_logit,jacobian] [--keep 0.9,0.8,0.7,0.5]
      [--truncation 2,1.5,1,0.5] [--psi 0.8,0.6,0.4]

For a trained unconditional G (the trained weights, not an EMA, with its running batch-norm
averages, as `jaxgan sample` draws them when the run kept no EMA) it scores --num samples with
the config's digits scores (FD, KID, IS, confident fraction, near-copies) drawn each of these ways:

- truncation T: BigGAN's truncation trick, N(0, 1) values of z beyond +-T resampled (what
  `jaxgan sample --truncation T` draws);
- psi P: z scaled by P (the "scaled" form of truncation);
- d_logit at keep fraction F: discriminator rejection, simplified (Azadi et al. 2019 keep a
  sample with a probability from D's logit; here the top F of the pool by D's logit is kept):
  ceil(num / F) latents are drawn, D scores each sample in training mode on batches of the
  training batch size (as it scored fakes in training), and the num highest are kept;
- jacobian at keep fraction F: Tanielian et al. 2020 ("Learning disconnected manifolds: a no
  GAN's land"): samples between classes sit where G stretches the latent space, so the num
  latents of the same pool with the smallest Frobenius norm of G's Jacobian dG(z)/dz are kept
  (computed exactly, one reverse-mode derivative per output pixel).

Every row also gives the predicted classes' smallest and largest share, a coarse check that a
selection did not buy confidence by dropping whole classes. One JSON line per row. With
--by-code (a run with InfoGAN's code, config info_code) it instead prints, for each code value,
the classifier's verdict on --num samples with that code: the share of each predicted class and
the confident fraction (does the code pick a digit?). The workdir is only read.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgan import progress  # pylint: disable=wrong-import-position
from jaxgan.cli import _load_workdir  # pylint: disable=wrong-import-position
from jaxgan.errors import JaxganError  # pylint: disable=wrong-import-position
from jaxgan.metrics.digits import CONFIDENCE_THRESHOLD, digits_metrics  # pylint: disable=wrong-import-position
from jaxgan.metrics.digits_classifier import load_digits_classifier  # pylint: disable=wrong-import-position
from jaxgan.train.experiment import Experiment  # pylint: disable=wrong-import-position

POOL_KEY = 20141  # the evaluation's latent key (adversarial.EVAL_KEY): keep 1.0 is `evaluate`
LEVERS = ("truncation", "psi", "d_logit", "jacobian")


def _floats(text: str) -> list[float]:
  return [float(v) for v in text.split(",") if v]


def class_shares(images) -> tuple[float, float]:
  """The smallest and largest share of a predicted class among the images."""
  logits, _ = load_digits_classifier().logits_and_features(np.asarray(images, np.float32))
  counts = np.bincount(np.argmax(logits, axis=1), minlength=10)
  return float(counts.min() / len(images)), float(counts.max() / len(images))


def d_logits(trainer, state, images, batch: int) -> np.ndarray:
  """D's logit of each image, D in training mode on batches of `batch` (the last one padded
  by wrapping around), as D scored a batch of fakes in training."""
  nets = trainer.nets
  fn = jax.jit(lambda x: nets.discriminate(state.d_params, state.d_state, x, None,
                                           jax.random.PRNGKey(0))[0])
  n = len(images)
  padded = np.concatenate([images, images[:-n % batch or 0]]) if n % batch else images
  out = np.concatenate([np.asarray(fn(padded[i:i + batch])).reshape(-1)
                        for i in range(0, len(padded), batch)])
  return out[:n]


def jacobian_norms(trainer, state, z, chunk: int = 50) -> np.ndarray:
  """||dG(z)/dz||_F of each latent, G in inference mode (per-sample, running averages)."""
  params, g_state = state.g_params, state.g_state

  def g_one(v):
    return trainer.nets.generate(params, g_state, v[None], None, train=False)[0][0]

  def norm_one(v):
    jac = jax.jacrev(g_one)(v)  # reverse mode: G's transposed convolutions define a VJP only
    return jnp.sqrt(jnp.sum(jac ** 2))

  fn = jax.jit(jax.vmap(norm_one))
  return np.concatenate([np.asarray(fn(z[i:i + chunk])) for i in range(0, len(z), chunk)])


def by_code(trainer, state, key, num, step):
  """Per code value: predicted class shares and the confident fraction of num samples."""
  nets = trainer.nets
  z = np.array(trainer.latents(key, num)[0])
  classifier = load_digits_classifier()
  for code in range(nets.code_categories):
    z[:, nets.latent_dim:nets.latent_dim + nets.code_categories] = np.eye(nets.code_categories, dtype=z.dtype)[code]
    logits, _ = classifier.logits_and_features(trainer.outputs_of(state, z)["samples"])
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    shares = np.bincount(np.argmax(probs, axis=1), minlength=10) / num
    print(json.dumps({"code": code, "step": step, "top_class": int(np.argmax(shares)),
                      "top_share": float(shares.max()),
                      "confident_fraction": float(np.mean(probs.max(axis=1) >= CONFIDENCE_THRESHOLD)),
                      "class_shares": [round(float(v), 3) for v in shares]}), flush=True)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("workdir")
  parser.add_argument("--step", type=int, default=None, help="default: the latest checkpoint")
  parser.add_argument("--num", type=int, default=1000, help="samples scored per row")
  parser.add_argument("--levers", default=",".join(LEVERS))
  parser.add_argument("--keep", default="1,0.9,0.8,0.7,0.5", help="kept fractions of the pool")
  parser.add_argument("--truncation", default="2,1.5,1,0.5")
  parser.add_argument("--psi", default="0.8,0.6,0.4")
  parser.add_argument("--by-code", action="store_true")
  args = parser.parse_args(argv)
  levers = args.levers.split(",")
  unknown = sorted(set(levers) - set(LEVERS))
  if unknown:
    parser.error(f"unknown levers {unknown}; choose from {', '.join(LEVERS)}")
  progress.enabled = False
  try:
    config, experiment, state, step = _load_workdir(args.workdir, args.step)
  except JaxganError as e:
    sys.exit(f"sampling_selection: error: {e}")
  if experiment.trainer.nets.num_classes or config.data.name != "digits":
    sys.exit("sampling_selection: error: wants an unconditional G on the digits")
  if args.by_code and not experiment.trainer.nets.code_categories:
    sys.exit("sampling_selection: error: --by-code wants a run with info_code.categories > 0")
  state = state.replace(ema_params=None)  # the trained G
  with config.unlocked():
    config.standing_stats = 0  # its running averages, as the main job samples
  trainer = Experiment(config).trainer
  num = args.num

  def report(lever, value, images, **extra):
    scores = digits_metrics(images)
    low, high = class_shares(images)
    print(json.dumps({"lever": lever, "value": value, "step": step, **extra,
                      **{k: round(v, 4) for k, v in scores.items()},
                      "class_min": low, "class_max": high}), flush=True)

  key = jax.random.PRNGKey(POOL_KEY)
  if args.by_code:
    by_code(trainer, state, key, num, step)
    return
  report("none", None, trainer.generate_outputs(state, num, POOL_KEY)["samples"])
  if "truncation" in levers:
    for t in _floats(args.truncation):
      report("truncation", t, trainer.generate_outputs(state, num, POOL_KEY, t)["samples"])
  if "psi" in levers:
    z, _ = trainer.latents(key, num)
    for psi in _floats(args.psi):
      report("psi", psi, trainer.outputs_of(state, np.asarray(z) * psi)["samples"])
  keeps = _floats(args.keep)
  ranked = [lever for lever in ("d_logit", "jacobian") if lever in levers]
  if ranked and keeps:
    pool_size = math.ceil(num / min(keeps))
    z, _ = trainer.latents(key, pool_size)
    z = np.asarray(z)
    images = trainer.outputs_of(state, z)["samples"]
    scores = {}
    if "d_logit" in ranked:
      scores["d_logit"] = d_logits(trainer, state, images, config.batch_size)  # high: kept
    if "jacobian" in ranked:
      scores["jacobian"] = -jacobian_norms(trainer, state, z)  # small norm: kept
    for lever in ranked:
      for keep in keeps:
        pool = math.ceil(num / keep)
        order = np.argsort(-scores[lever][:pool], kind="stable")[:num]
        report(lever, keep, images[np.sort(order)], pool=pool)


if __name__ == "__main__":
  main()
