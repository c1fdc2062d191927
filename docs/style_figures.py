"""Figures of the progressive and style-based runs in docs/quality.md.

Usage:
  .venv/bin/python docs/style_figures.py growth WORKDIR OUT.png --steps 500,1500,3000,4375
      ProGAN: the training sample grids (samples/step_*.png, the EMA generator at the step's
      resolution) at the given steps, each scaled (nearest) to the last one's size, side by side.
  .venv/bin/python docs/style_figures.py truncation WORKDIR OUT.png [--psi 1,0.7,0.5,0.25,0]
      [--num 8] [--seed 0]
      StyleGAN/StyleGAN2: one row per psi (truncation in W toward the tracked average w, the
      config's layer cutoff), the same latents in every column; psi 0 is the average image.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgan import visualize  # pylint: disable=wrong-import-position
from jaxgan.cli import _load_workdir  # pylint: disable=wrong-import-position


def growth_figure(workdir: str, steps: list[int]) -> np.ndarray:
  grids = [np.asarray(Image.open(os.path.join(workdir, "samples", f"step_{s:07d}.png")))
           for s in steps]
  size = max(g.shape[0] for g in grids)
  scaled = [np.asarray(Image.fromarray(g).resize((size, size), Image.Resampling.NEAREST))
            for g in grids]
  gap = np.full((size, 8) + scaled[0].shape[2:], 255, np.uint8)
  parts = []
  for g in scaled:
    parts += [g, gap]
  return np.concatenate(parts[:-1], axis=1)


def truncation_figure(workdir: str, psis: list[float], num: int, seed: int) -> np.ndarray:
  _, experiment, state, _ = _load_workdir(workdir)
  trainer = experiment.trainer
  rows = []
  for psi in psis:
    out = trainer.sample_outputs(state, num, seed, truncation=None if psi == 1 else psi)
    rows.append(out["samples"])
  images = np.concatenate(rows)
  return visualize.image_grid(images, columns=num)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("kind", choices=("growth", "truncation"))
  parser.add_argument("workdir")
  parser.add_argument("out")
  parser.add_argument("--steps", default="500,1500,3000,4375")
  parser.add_argument("--psi", default="1,0.7,0.5,0.25,0")
  parser.add_argument("--num", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  if args.kind == "growth":
    picture = growth_figure(args.workdir, [int(s) for s in args.steps.split(",")])
  else:
    picture = truncation_figure(args.workdir, [float(p) for p in args.psi.split(",")],
                                args.num, args.seed)
  if picture.ndim == 3 and picture.shape[2] == 1:
    picture = picture[..., 0]
  big = Image.fromarray(picture)
  if big.width < 512:  # small digits: scale up for the page
    factor = 512 // big.width + 1
    big = big.resize((big.width * factor, big.height * factor), Image.Resampling.NEAREST)
  big.save(args.out)
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()
