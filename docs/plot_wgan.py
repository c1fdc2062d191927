"""Plots the WGAN critic's Wasserstein estimate against sample quality over a training run.

Usage: python docs/plot_wgan.py runs/wgan_digits docs/images/wgan_digits_curve.png
Reads DIR/metrics.jsonl (the critic's estimate, logged every log_every steps) and DIR/eval.jsonl
(the digits classifier's Fréchet distance every evals.digits.every steps).
"""

import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np


def read_jsonl(path):
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def main(workdir, out):
  train = [r for r in read_jsonl(f"{workdir}/metrics.jsonl") if "wasserstein" in r]
  evals = read_jsonl(f"{workdir}/eval.jsonl")
  steps = np.array([r["step"] for r in train])
  w = np.array([r["wasserstein"] for r in train])
  e_steps = np.array([r["step"] for r in evals])
  fd = np.array([r["fd"] for r in evals])
  # The estimate at each evaluation step: the mean of the logged values around it.
  w_at_eval = np.array([w[np.abs(steps - s) <= 100].mean() for s in e_steps])
  corr = np.corrcoef(w_at_eval, fd)[0, 1]

  fig, (ax1, ax3) = plt.subplots(1, 2, figsize=(11, 4))
  ax1.plot(steps, w, color="tab:blue", lw=1)
  ax1.set_xlabel("generator step")
  ax1.set_ylabel("critic's Wasserstein estimate", color="tab:blue")
  ax2 = ax1.twinx()
  ax2.plot(e_steps, fd, "o-", color="tab:red", ms=3)
  ax2.set_ylabel("Fréchet distance (digits classifier)", color="tab:red")
  ax1.set_title("WGAN on digits: the estimate and sample quality over training")
  ax3.plot(w_at_eval, fd, "o", color="k", ms=4)
  ax3.set_xlabel("critic's Wasserstein estimate")
  ax3.set_ylabel("Fréchet distance")
  ax3.set_title(f"Pearson r = {corr:.3f} over {len(fd)} evaluations")
  fig.tight_layout()
  fig.savefig(out, dpi=110)
  print(json.dumps({"evaluations": len(fd), "pearson_r": round(float(corr), 4)}))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])
