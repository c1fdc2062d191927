"""Score one checkpoint of a run sampled several ways (docs/quality.md, the DCGAN section).

Usage:
  .venv/bin/python docs/sampling_variants.py WORKDIR [--step STEP] [--standing 16]
      [--variants trained,trained_standing,ema,ema_standing] [--grid OUT.png]

An EMA and standing statistics do not change training, so one run answers all four: the
trained G with its running batch-norm averages ('trained'), the trained G with BigGAN's
standing statistics over --standing batches ('trained_standing'), and the same two for the EMA
of G when the run kept one. Prints one JSON line per variant with the config's evaluators'
scores (for the digits: FD, KID, IS, confident fraction, nn_ratio, near-copies). --grid also
writes the first variant's 64 samples of seed 0 (`jaxgan sample --num 64 --seed 0`'s) as an 8x8
grid, each upscaled 4x (nearest). The workdir is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgan import progress, visualize  # pylint: disable=wrong-import-position
from jaxgan.cli import _load_workdir  # pylint: disable=wrong-import-position
from jaxgan.errors import JaxganError  # pylint: disable=wrong-import-position
from jaxgan.train.experiment import Experiment  # pylint: disable=wrong-import-position

VARIANTS = ("trained", "trained_standing", "ema", "ema_standing")


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("workdir")
  parser.add_argument("--step", type=int, default=None, help="default: the latest checkpoint")
  parser.add_argument("--standing", type=int, default=16,
                      help="batches of G's own output for the standing statistics")
  parser.add_argument("--variants", default=",".join(VARIANTS))
  parser.add_argument("--grid", default="", metavar="OUT.png")
  args = parser.parse_args(argv)
  variants = args.variants.split(",")
  unknown = sorted(set(variants) - set(VARIANTS))
  if unknown:
    parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
  progress.enabled = False
  try:
    config, _, state, step = _load_workdir(args.workdir, args.step)
  except JaxganError as e:
    sys.exit(f"sampling_variants: error: {e}")
  for variant in variants:
    if variant.startswith("ema") and state.ema_params is None:
      print(json.dumps({"variant": variant, "step": step, "skipped": "the run kept no EMA"}))
      continue
    with config.unlocked():
      config.standing_stats = args.standing if variant.endswith("standing") else 0
    experiment = Experiment(config)
    sampled = state if variant.startswith("ema") else state.replace(ema_params=None)
    scores = experiment.evaluate(sampled, None, None)
    print(json.dumps({"variant": variant, "step": step, **scores}), flush=True)
    if args.grid:
      samples = experiment.trainer.sample_outputs(sampled, 64, 0)["samples"]
      big = np.repeat(np.repeat(samples, 4, axis=1), 4, axis=2)  # uint8, as `jaxgan sample` writes
      visualize.save_png(visualize.image_grid(big, 8), args.grid)
      print(f"wrote the {variant} grid to {args.grid}", file=sys.stderr)
      args.grid = ""


if __name__ == "__main__":
  main()
