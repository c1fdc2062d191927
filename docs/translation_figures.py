"""The figures and pictures of docs/translation.md, from trained workdirs.

  .venv/bin/python docs/translation_figures.py pix2pix RUN_CGAN_L1 RUN_L1 RUN_CGAN
  .venv/bin/python docs/translation_figures.py cyclegan_digits RUN [--suffix _identity]
  .venv/bin/python docs/translation_figures.py cyclegan_photos RUN
  .venv/bin/python docs/translation_figures.py cogan RUN

Each loads the workdirs' latest checkpoints (as `jaxgan sample` does), prints its figures as one
JSON line and writes its picture under docs/images/ (--out-dir to change). Pictures are
upscaled x4 (nearest neighbour) so 16- and 32-pixel images can be seen.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from jaxgan import visualize  # pylint: disable=wrong-import-position
from jaxgan.cli import _load_workdir  # pylint: disable=wrong-import-position
from jaxgan.data import photos  # pylint: disable=wrong-import-position
from jaxgan.train import evaluators, pieces  # pylint: disable=wrong-import-position
from jaxgan.train.cogan import EVAL_KEY  # pylint: disable=wrong-import-position

SCALE = 4


def _save(picture: np.ndarray, path: str):
  picture = np.repeat(np.repeat(picture, SCALE, axis=0), SCALE, axis=1)
  visualize.save_png(picture, path)
  print(f"wrote {path}", file=sys.stderr)


def chroma(images: np.ndarray) -> float:
  """Mean colourfulness: |RGB - luma| per pixel and channel on a 0-1 scale (0 for gray)."""
  images = np.clip(images, -1, 1)
  return float(np.mean(np.abs(images - photos.to_gray(images))) / 2)


def pix2pix(args):
  """L1, PSNR and chroma of each objective on every held-out patch, and rows of
  input | L1 | cGAN | cGAN + L1 | ground truth."""
  names = ("cgan_l1", "l1", "cgan")
  runs = {name: _load_workdir(path) for name, path in zip(names, args.workdirs)}
  _, experiment, _, _ = runs["cgan_l1"]
  trainer = experiment.trainer
  test = trainer.require_test_source()
  batch = trainer.examples(len(test), None)
  inputs, targets = batch["input"], batch["target"]
  figures = {"num_test": len(inputs)}

  def measures(images):
    return {"l1": float(np.mean(evaluators.l1_01(images, targets))),
            "psnr": float(np.mean(evaluators.psnr(images, targets))),
            "chroma": chroma(images)}

  outputs = {}
  for name, (_, run, state, step) in runs.items():
    outputs[name] = run.trainer.translate(state, inputs)
    figures[name] = {"step": step, **measures(outputs[name])}
  # The luma itself as a colour guess (zero chroma), the floor to beat; and the truth's chroma.
  figures["gray_input"] = measures(pieces.as_rgb(inputs))
  figures["ground_truth_chroma"] = chroma(targets)
  print(json.dumps(figures))
  pick = np.linspace(0, len(inputs) - 1, args.rows).round().astype(int)
  columns = [inputs[pick]] + [outputs[n][pick] for n in ("l1", "cgan", "cgan_l1")]
  _save(pieces.rows_picture(columns + [targets[pick]], groups=2),
        os.path.join(args.out_dir, "pix2pix_colorization.png"))


def cyclegan_digits(args):
  """Rows of digit | G_AB(digit) | true negative || negative | G_BA(negative) | true digit."""
  _, experiment, state, step = _load_workdir(args.workdirs[0])
  trainer = experiment.trainer
  a = trainer.domain_examples("a", args.rows)["image"]
  b = trainer.domain_examples("b", args.rows, seed=1)["image"]
  scores = experiment.evaluate(state)
  print(json.dumps({"step": step, **scores}))
  ab, ba = trainer.translate(state, "ab", a), trainer.translate(state, "ba", b)
  _save(pieces.rows_picture([a, ab, -a, b, ba, -b], groups=2),
        os.path.join(args.out_dir, f"cyclegan_digits{args.suffix}.png"))


def cyclegan_photos(args):
  """Rows of china | G_AB | G_BA(G_AB) || flower | G_BA | G_AB(G_BA) on held-out patches."""
  _, experiment, state, step = _load_workdir(args.workdirs[0])
  trainer = experiment.trainer
  size = experiment.config.data.image_size
  a = photos.photo_patches("china", "test", size)
  b = photos.photo_patches("flower", "test", size)
  scores = experiment.evaluate(state)
  # The same on the training patches (every 8th), and how varied G_AB's outputs are (mean
  # per-pixel std over the patches, 0-1 scale) against real flower patches: a collapse shows.
  train_a = photos.photo_patches("china", "train", size)[::8]
  train_b = photos.photo_patches("flower", "train", size)[::8]
  ab_train = trainer.translate(state, "ab", train_a)
  ba_train = trainer.translate(state, "ba", train_b)
  ab_test = trainer.translate(state, "ab", a)
  scores.update(
      train_cycle_l1_a=float(np.mean(evaluators.l1_01(trainer.translate(state, "ba", ab_train),
                                                  train_a))),
      train_cycle_l1_b=float(np.mean(evaluators.l1_01(trainer.translate(state, "ab", ba_train),
                                                  train_b))),
      spread_ab_test=float(ab_test.std(axis=0).mean() / 2),
      spread_real_b_test=float(b.std(axis=0).mean() / 2))
  print(json.dumps({"step": step, **scores}))
  pick_a = np.linspace(0, len(a) - 1, args.rows).round().astype(int)
  pick_b = np.linspace(0, len(b) - 1, args.rows).round().astype(int)
  a, b = a[pick_a], b[pick_b]
  ab, ba = trainer.translate(state, "ab", a), trainer.translate(state, "ba", b)
  columns = [a, ab, trainer.translate(state, "ba", ab), b, ba, trainer.translate(state, "ab", ba)]
  _save(pieces.rows_picture(columns, groups=2), os.path.join(args.out_dir, "cyclegan_photos.png"))


def cogan(args):
  """Generated pairs (a | b from one latent), and the coupling figures."""
  import jax  # pylint: disable=g-import-not-at-top
  _, experiment, state, step = _load_workdir(args.workdirs[0])
  trainer = experiment.trainer
  scores = experiment.evaluate(state)
  print(json.dumps({"step": step, **scores}))
  a, b = trainer.generate(state, trainer.latents(jax.random.PRNGKey(EVAL_KEY), 4 * args.rows)[0])
  _save(pieces.rows_picture([a, b], groups=4), os.path.join(args.out_dir, "cogan_digits.png"))


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("figure", choices=("pix2pix", "cyclegan_digits", "cyclegan_photos", "cogan"))
  parser.add_argument("workdirs", nargs="+")
  parser.add_argument("--rows", type=int, default=8)
  parser.add_argument("--out-dir", default=os.path.join(HERE, "images"))
  parser.add_argument("--suffix", default="", help="appended to the picture's file name")
  args = parser.parse_args()
  want = 3 if args.figure == "pix2pix" else 1
  if len(args.workdirs) != want:
    parser.error(f"{args.figure} takes {want} workdir(s)")
  globals()[args.figure](args)


if __name__ == "__main__":
  main()
