"""jaxgan's Inception port against pytorch-fid 0.3.0 on the committed fixtures: max relative errors.

  .venv/bin/python docs/inception_agreement.py

The fixtures (tests/fixtures/inception_*.npz, made by tests/fixtures/make_inception_fixtures.py)
hold pytorch-fid's outputs with seeded stand-in weights; the same weights are regenerated here
and run through jaxgan. Relative errors are max |jaxgan - pytorch-fid| / max |pytorch-fid|
for arrays, |a - b| / |b| for scalars. Prints one JSON line.
"""

from __future__ import annotations

import json
import os

import numpy as np

from jaxgan.metrics import fidelity, inception, inception_weights
from jaxgan.metrics.inception_metrics import softmax

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                        "fixtures")


def _rel(a, b) -> float:
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.abs(a - b).max() / np.abs(b).max())


def main():
  net = dict(np.load(os.path.join(FIXTURES, "inception_net.npz")))
  scores = dict(np.load(os.path.join(FIXTURES, "inception_scores.npz")))
  variables = inception.variables_from_state_dict(
      inception_weights.random_state_dict(int(net["seed"])))
  bias = variables["params"]["fc"]["bias"]
  out = {}
  for name in ("small", "large"):
    pool3, unbiased = inception.InceptionExtractor(variables, batch_size=4)(net[name])
    out[f"pool3_{name}_{net[name].shape[1]}x{net[name].shape[2]}"] = _rel(pool3, net[f"pool3_{name}"])
    out[f"logits_{name}"] = _rel(unbiased + bias, net[f"logits_{name}"])
  a, b = scores["feats_a"], scores["feats_b"]
  out["fid_16dims"] = _rel(fidelity.frechet_distance(a[:, :16], b[:, :16]), scores["fid_16dims"])
  out["fid_2048dims_n25"] = _rel(fidelity.frechet_distance(a, b), scores["fid"])
  is_mean, is_std = fidelity.inception_score(softmax(scores["unbiased_logits_a"]), 10)
  out["is_mean_n25"] = _rel(is_mean, scores["is_mean"])
  out["is_std_n25"] = _rel(is_std, scores["is_std"])
  print(json.dumps({k: float(f"{v:.3g}") for k, v in out.items()}))


if __name__ == "__main__":
  main()
