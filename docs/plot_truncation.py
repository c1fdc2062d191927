"""BigGAN's truncation curve on a trained run: fidelity against diversity as the threshold varies.

Usage: python docs/plot_truncation.py runs/biggan_digits docs/images/biggan_digits_truncation.png
  [--num-samples 1000] [--thresholds 0.1,0.25,0.5,0.75,1,1.5,2,0]

For each truncation threshold T (0: no truncation) it samples the run's latest checkpoint (the
EMA generator with standing statistics, as `jaxgan evaluate --truncation T` does) and scores the
samples with the digits metrics. The figure plots, as the paper's Figure 2(b)/(c) does with IS
and FID, the Inception-Score analogue (fidelity/class-distinctness; higher is better) against
the Fréchet distance (diversity and fidelity; lower is better), and label accuracy against FD.
The scores go to OUT with .json in place of .png.
"""

import argparse
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top,wrong-import-position


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("workdir")
  parser.add_argument("out")
  parser.add_argument("--num-samples", type=int, default=1000)
  parser.add_argument("--thresholds", default="0.1,0.25,0.5,0.75,1,1.5,2,0")
  args = parser.parse_args()
  _, experiment, state, step = _load_workdir(args.workdir)
  rows = []
  for t in [float(x) for x in args.thresholds.split(",")]:
    scores = experiment.evaluate(state, args.num_samples, truncation=t or None)
    row = {"truncation": t or None, "step": step, **{k: float(v) for k, v in scores.items()
                                                     if k != "truncation"}}
    rows.append(row)
    print(json.dumps(row), flush=True)
  with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as f:
    json.dump(rows, f, indent=1)

  fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
  fd = [r["fd"] for r in rows]
  for ax, key, label in ((axes[0], "is", "Inception Score (digits classifier)"),
                         (axes[1], "label_accuracy", "label accuracy")):
    ys = [r[key] for r in rows]
    ax.plot(ys, fd, "o-")
    for r, y, x in zip(rows, ys, fd):
      ax.annotate("none" if r["truncation"] is None else f"{r['truncation']:g}", (y, x),
                  textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(label + "  (higher: more fidelity)")
    ax.set_ylabel("Fréchet distance  (lower is better)")
    ax.grid(alpha=0.3)
  fig.suptitle(f"BigGAN digits, step {step}: truncation threshold T (annotated) from 2 to 0.1 "
               f"({args.num_samples} samples each)", fontsize=9)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
  main()
