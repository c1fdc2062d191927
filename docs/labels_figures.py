"""The pix2pix labels -> facades ablation of docs/translation.md, from three trained workdirs.

  .venv/bin/python docs/labels_figures.py RUN_CGAN_L1 RUN_L1 RUN_CGAN

Loads each workdir's latest checkpoint (as `jaxgan evaluate` does), translates every held-out
label map of the `labels` data set, and prints one JSON line: per objective the FCN-score
(pixel_acc, class_acc, class_iou by the facade segmenter), per-class IoU, L1 and PSNR to the
real facade, and sharpness (mean gradient magnitude, and its ratio to the real facades'); and
the same scores of the real facades (the ceiling). Writes docs/images/pix2pix_labels.png
(--out-dir to change): rows of input map | L1 | cGAN | cGAN + L1 | real facade, upscaled x3.
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
from jaxgan.data import labels  # pylint: disable=wrong-import-position
from jaxgan.metrics import labels_segmenter  # pylint: disable=wrong-import-position
from jaxgan.train import evaluators, pieces  # pylint: disable=wrong-import-position

SCALE = 3
NAMES = ("cgan_l1", "l1", "cgan")


def measures(segmenter, images, targets, truth) -> dict:
  predicted = segmenter.predict(images)
  hist = labels_segmenter.confusion_matrix(truth, predicted).astype(np.float64)
  iou = np.diag(hist) / (hist.sum(0) + hist.sum(1) - np.diag(hist))
  sharpness = labels_segmenter.mean_gradient(images)
  return {**labels_segmenter.segmentation_scores(truth, predicted),
          "iou": {name: round(float(v), 4) for name, v in zip(labels.CLASS_NAMES, iou)},
          "l1": float(np.mean(evaluators.l1_01(images, targets))),
          "psnr": float(np.mean(evaluators.psnr(images, targets))),
          "mean_gradient": sharpness,
          "gradient_ratio": sharpness / labels_segmenter.mean_gradient(targets)}


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("workdirs", nargs=3, metavar="WORKDIR",
                      help="the cGAN + L1, L1 alone and cGAN alone runs, in that order")
  parser.add_argument("--rows", type=int, default=6)
  parser.add_argument("--out-dir", default=os.path.join(HERE, "images"))
  args = parser.parse_args()
  runs = {name: _load_workdir(path) for name, path in zip(NAMES, args.workdirs)}
  trainer = runs["cgan_l1"][1].trainer
  batch = trainer.examples(len(trainer.require_test_source()), None)
  inputs, targets = batch["input"], batch["target"]
  truth = labels.decode_map(inputs)
  segmenter = labels_segmenter.load_segmenter()
  figures = {"num_test": len(inputs)}
  outputs = {}
  for name, (_, experiment, state, step) in runs.items():
    outputs[name] = experiment.trainer.translate(state, inputs)
    figures[name] = {"step": step, **measures(segmenter, outputs[name], targets, truth)}
  figures["real"] = measures(segmenter, targets, targets, truth)
  print(json.dumps(figures))
  pick = np.linspace(0, len(inputs) - 1, args.rows).round().astype(int)
  columns = [inputs[pick]] + [outputs[n][pick] for n in ("l1", "cgan", "cgan_l1")]
  picture = pieces.rows_picture(columns + [targets[pick]], groups=1)
  picture = np.repeat(np.repeat(picture, SCALE, axis=0), SCALE, axis=1)
  path = os.path.join(args.out_dir, "pix2pix_labels.png")
  visualize.save_png(picture, path)
  print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
  main()
