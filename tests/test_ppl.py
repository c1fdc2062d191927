"""Perceptual path length: slerp, the percentile filter, the 1/epsilon^2 scaling, the evaluator
on a tiny StyleGAN2 (a G that ignores its latent has PPL 0), LPIPS-VGG16 from a weights file."""

from __future__ import annotations

from pathlib import Path

import jax
import ml_collections
import numpy as np
import pytest

from jaxgan.config import apply_overrides, load_config_file
from jaxgan.errors import JaxganError
from jaxgan.metrics import ppl
from jaxgan.train import evaluators

REPO = Path(__file__).resolve().parents[1]
TINY = {"batch_size": "8", "latent_dim": "8", "generator.w_dim": "8",
        "generator.mapping_features": "8", "generator.mapping_layers": "2",
        "generator.fmap_base": "16", "generator.fmap_max": "8",
        "discriminator.fmap_base": "16", "discriminator.fmap_max": "8", "data.image_size": "8",
        "eval.batch_size": "16"}


def test_slerp_and_lerp():
  a, b = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7))
  t = np.array([0.0, 0.25, 0.5, 1.0, 0.7], np.float32)
  s = np.asarray(ppl.slerp(a, b, t))
  np.testing.assert_allclose(np.linalg.norm(s, axis=1), 1.0, rtol=1e-5)
  np.testing.assert_allclose(s[0], np.asarray(ppl.normalize(a[0])), atol=1e-5)
  np.testing.assert_allclose(s[3], np.asarray(ppl.normalize(b[3])), atol=1e-5)
  # The angle grows linearly with t.
  ua, ub = np.asarray(ppl.normalize(a)), np.asarray(ppl.normalize(b))
  total = np.arccos(np.sum(ua[2] * ub[2]))
  np.testing.assert_allclose(np.arccos(np.clip(np.sum(ua[2] * s[2]), -1, 1)), total / 2,
                             rtol=1e-4)
  np.testing.assert_allclose(np.asarray(ppl.lerp(a, b, t))[1], a[1] + 0.25 * (b[1] - a[1]),
                             rtol=1e-6)


def test_aggregate_drops_the_outer_percentiles():
  d = np.arange(1, 201, dtype=np.float64)
  d[0], d[-1] = -1e6, 1e9
  assert ppl.aggregate(d) == pytest.approx(np.mean(d[1:-1]))
  assert ppl.aggregate(np.full(50, 3.0)) == 3.0


def test_ppl_is_distance_over_epsilon_squared_and_scales_with_the_output():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(300, 4, 4, 1)).astype(np.float32)
  b = a + 1e-3 * rng.normal(size=a.shape).astype(np.float32)
  base = ppl.perceptual_path_length(a, b, 1e-2, ppl.pixel_distance)
  d = ppl.pixel_distance(a, b) / 1e-4
  assert base == pytest.approx(ppl.aggregate(d))
  assert ppl.perceptual_path_length(3 * a, 3 * b, 1e-2, ppl.pixel_distance) == pytest.approx(
      9 * base, rel=1e-5)
  assert ppl.perceptual_path_length(a, a, 1e-2, ppl.pixel_distance) == 0.0


def _trainer():
  from jaxgan import data as data_lib  # pylint: disable=g-import-not-at-top
  from jaxgan.train.adversarial import AdversarialTrainer  # pylint: disable=g-import-not-at-top
  config = apply_overrides(load_config_file(str(REPO / "configs" / "stylegan2_digits.py")), TINY)
  _, info = data_lib.load(config.data, "train")
  return AdversarialTrainer(config, info)


def test_ppl_evaluator_on_a_tiny_stylegan2():
  trainer = _trainer()
  state = trainer.init_state(jax.random.PRNGKey(0))
  evals = evaluators.configured(ml_collections.ConfigDict(dict(
      evals=dict(ppl_w=dict(type="ppl", distance="pixels", num_samples=32),
                 ppl_z=dict(type="ppl", space="z", sampling="full", distance="pixels",
                            num_samples=32),
                 ppl_digits=dict(type="ppl", num_samples=32)),
      eval=dict(num_samples=32))))
  evaluators.check_evaluators(evals, trainer, trainer.output_names())
  scores = evaluators.run(evals, trainer, state)
  assert scores["ppl_w/ppl"] > 0 and scores["ppl_z/ppl"] > 0 and scores["ppl_digits/ppl"] > 0
  a, b = trainer.path_pairs(state, 8, 0, "w", "end", 1e-4)
  assert a.shape == b.shape == (8, 8, 8, 1) and 0 < np.max(np.abs(a - b)) < 1e-2
  # A G that ignores its latent (the mapping's last layer zeroed: one w for every z): PPL 0.
  params = jax.tree_util.tree_map_with_path(
      lambda p, x: x * 0 if "dense1" in jax.tree_util.keystr(p) else x, state.ema_params)
  assert any("dense1" in jax.tree_util.keystr(p)
             for p, _ in jax.tree_util.tree_flatten_with_path(params)[0])
  constant = state.replace(ema_params=params)
  scores = evaluators.run(evals, trainer, constant)
  # Zero up to rounding: the same w in different rows of a batch can differ in the last bit on
  # some CPUs (3.4e-7 seen), where a latent that reaches the image gives PPL above 1.
  assert scores["ppl_w/ppl"] < 1e-3 and scores["ppl_z/ppl"] < 1e-3
  assert scores["ppl_digits/ppl"] < 1e-3


def test_ppl_config_errors_and_non_style_generators(tmp_path):
  def config(**spec):
    return ml_collections.ConfigDict(dict(evals=dict(p=dict(type="ppl", **spec)),
                                          eval=dict(num_samples=8)))
  missing = tmp_path / "vgg16_lpips.npz"
  with pytest.raises(JaxganError, match="LPIPS-VGG16 weights file .* not found; supply"):
    evaluators.configured(config(distance=str(missing)))
  with pytest.raises(JaxganError, match="space must be one of"):
    evaluators.configured(config(space="x"))
  with pytest.raises(JaxganError, match="unknown keys"):
    evaluators.configured(config(epsilonn=1e-4))
  from jaxgan import data as data_lib  # pylint: disable=g-import-not-at-top
  from jaxgan.train.adversarial import AdversarialTrainer  # pylint: disable=g-import-not-at-top
  dcgan = load_config_file(str(REPO / "configs" / "dcgan_digits.py"))
  _, info = data_lib.load(dcgan.data, "train")
  with pytest.raises(JaxganError, match="needs a style generator"):
    evaluators.check_evaluators(evaluators.configured(config()), AdversarialTrainer(dcgan, info),
                                {"samples"})


def test_lpips_vgg16_from_a_weights_file(tmp_path):
  """VGG16's layout (13 convs in 5 blocks, 5 taps) at narrow widths: the file's shapes decide."""
  rng = np.random.default_rng(0)
  weights, c_in, i = {}, 3, 1
  for block in ppl.VGG16_BLOCKS:
    for _ in block:
      weights[f"conv{i}_w"] = rng.normal(0, 0.5, (3, 3, c_in, 4)).astype(np.float32)
      weights[f"conv{i}_b"] = np.zeros(4, np.float32)
      c_in, i = 4, i + 1
  for k in range(5):
    weights[f"lin{k}"] = np.abs(rng.normal(size=4)).astype(np.float32)
  path = tmp_path / "lpips.npz"
  np.savez(path, **weights)
  distance = ppl.distance_fn(str(path))
  a = rng.uniform(-1, 1, (3, 32, 32, 1)).astype(np.float32)
  b = rng.uniform(-1, 1, (3, 32, 32, 1)).astype(np.float32)
  np.testing.assert_allclose(distance(a, a), 0.0, atol=1e-6)
  d_ab, d_ba = distance(a, b), distance(b, a)
  assert np.all(d_ab > 0)
  np.testing.assert_allclose(d_ab, d_ba, rtol=1e-5)
  del weights["lin4"]
  np.savez(path, **weights)
  with pytest.raises(JaxganError, match="lack lin4"):
    ppl.distance_fn(str(path))
