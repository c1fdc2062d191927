"""StyleGAN and StyleGAN2 on the adversarial trainer: lazy R1 and path length on their
intervals, the path-length mean in the state through a checkpoint, mixing regularisation in
training, truncation in W from the command line (psi=0: one image), the style-mixing grid."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import cli
from jaxgan.config import apply_overrides, load_config_file
from jaxgan.errors import JaxganError
from jaxgan.train import terms as terms_lib

REPO = Path(__file__).resolve().parents[1]
TINY = {"batch_size": "8", "latent_dim": "8", "generator.w_dim": "8",
        "generator.mapping_features": "8", "generator.mapping_layers": "2",
        "generator.fmap_base": "16", "generator.fmap_max": "8",
        "discriminator.fmap_base": "16", "discriminator.fmap_max": "8", "data.image_size": "8"}
RUN = {"steps": "2", "checkpoint_every": "1", "sample_every": "2", "log_every": "1",
       "eval.num_samples": "20", "eval.batch_size": "4", "sample_grid": "2"}


def _config(name, **extra):
  config = load_config_file(str(REPO / "configs" / f"{name}.py"))
  return apply_overrides(config, {**TINY, **{k: str(v) for k, v in extra.items()}})


def _trainer(name, **extra):
  from jaxgan import data as data_lib  # pylint: disable=g-import-not-at-top
  from jaxgan.train.adversarial import AdversarialTrainer  # pylint: disable=g-import-not-at-top
  config = _config(name, **extra)
  _, info = data_lib.load(config.data, "train")
  return AdversarialTrainer(config, info)


# configs/stylegan2_digits.py runs without path length (as stylegan2-ada-pytorch's small-data
# configs); the tests of its machinery turn it back on with config F's weight.
PATH_LENGTH = {"g_terms.path_length.weight": 2.0}


def test_lazy_r1_and_path_length_are_due_on_their_intervals():
  trainer = _trainer("stylegan2_digits", **PATH_LENGTH)
  phases = trainer.phases(lambda x: x)
  variants = [trainer.step_variant(phases, i).phases for i in range(64)]
  assert [i for i, v in enumerate(variants) if "d_reg_16" in v] == [0, 16, 32, 48]
  assert [i for i, v in enumerate(variants) if "g_reg_4" in v] == list(range(0, 64, 4))
  assert all(v[:2] == ("critic", "generator") and v[-1] == "ema" for v in variants)
  assert len(set(variants)) == 3  # compiled steps: plain, +path length, +both
  # The digits config as shipped: lazy R1 only, no path-length phase (and G's Adam unscaled).
  plain = _trainer("stylegan2_digits")
  shipped = {plain.step_variant(plain.phases(lambda x: x), i).phases for i in range(64)}
  assert shipped == {("critic", "generator", "ema"), ("critic", "generator", "d_reg_16", "ema")}
  assert _adam_steps(plain.g_tx, [1.0])[0] == pytest.approx(-plain.config.optimizer.g.lr)
  # StyleGAN with R1 every step (the paper's; the digits config runs it lazily) has one variant.
  style1 = _trainer("stylegan_digits", **{"d_terms.r1.every": 1})
  assert {style1.step_variant(style1.phases(lambda x: x), i) for i in range(20)} == {
      style1.step_variant(style1.phases(lambda x: x), 0)}


def _adam_steps(tx, grads):
  """Updates of two steps of `tx` from a fresh state, one-parameter gradients given."""
  params, state, out = jnp.zeros(()), None, []
  state = tx.init(params)
  for g in grads:
    update, state = tx.update(jnp.asarray(g, jnp.float32), state, params)
    out.append(float(update))
  return out


def test_lazy_intervals_scale_each_networks_adam_as_the_official_code():
  trainer = _trainer("stylegan2_digits", **PATH_LENGTH)
  lr = trainer.config.optimizer.d.lr
  b2 = trainer.config.optimizer.d.b2
  for tx, k in ((trainer.d_tx, 16), (trainer.g_tx, 4)):
    r = k / (k + 1)
    first, second = _adam_steps(tx, [1.0, 3.0])
    # Adam (b1 = 0): update = -lr * g / sqrt(v_hat); the first step is -lr whatever beta2 is,
    # the second reads beta2 ** r through v_hat.
    assert first == pytest.approx(-lr * r, rel=1e-5)
    beta = b2 ** r
    v_hat = ((1 - beta) * beta * 1.0 + (1 - beta) * 9.0) / (1 - beta**2)
    assert second == pytest.approx(-lr * r * 3.0 / (np.sqrt(v_hat) + 1e-8), rel=1e-5)
  # Without lazy terms (StyleGAN with R1 every step) the rates are the config's.
  style1 = _trainer("stylegan_digits", **{"d_terms.r1.every": 1})
  assert _adam_steps(style1.d_tx, [1.0])[0] == pytest.approx(-style1.config.optimizer.d.lr)
  terms = terms_lib.active_terms({"r1": dict(weight=1.0, every=16),
                                  "gradient_penalty": dict(weight=1.0, every=8)},
                                 terms_lib.D_TERMS, "d")
  with pytest.raises(JaxganError, match="share one interval"):
    terms_lib.lazy_ratio(terms, "d")


def test_path_length_needs_a_style_generator():
  from jaxgan import data as data_lib  # pylint: disable=g-import-not-at-top
  from jaxgan.train.adversarial import AdversarialTrainer  # pylint: disable=g-import-not-at-top
  config = load_config_file(str(REPO / "configs" / "dcgan_digits.py"))
  with config.unlocked():
    config.g_terms.path_length = dict(weight=2.0, every=4)
  _, info = data_lib.load(config.data, "train")
  with pytest.raises(JaxganError, match="g_terms.path_length needs a style generator"):
    AdversarialTrainer(config, info)


def test_path_length_term_value_and_running_mean():
  """On a linear 'synthesis' images = ws . A the gradient is exact: |J^T y| is known."""
  ws = jnp.ones((4, 3, 5))
  a = jax.random.normal(jax.random.PRNGKey(0), (5, 6 * 6))

  def styles(num, key):
    del key
    return ws[:num], lambda w: jnp.einsum("nlw,wp->np", w, a).reshape(num, 6, 6, 1)

  inputs = terms_lib.GTermInputs(None, jax.random.PRNGKey(1), styles,
                                 {"pl_mean": jnp.float32(0.5)}, batch_size=8)
  value, updates = terms_lib.path_length(inputs)
  _, noise_key = jax.random.split(inputs.key)
  noise = jax.random.normal(noise_key, (4, 6, 6, 1)) / 6.0
  grad = jnp.einsum("wp,np->nw", a, noise.reshape(4, -1))  # the same for every layer
  lengths = jnp.sqrt(jnp.sum(grad**2, axis=1))
  mean = 0.5 + 0.01 * (jnp.mean(lengths) - 0.5)
  np.testing.assert_allclose(updates["pl_mean"], mean, rtol=1e-5)
  np.testing.assert_allclose(value, jnp.mean((lengths - mean) ** 2), rtol=1e-5)


@pytest.mark.parametrize("name", ["stylegan_digits", "stylegan2_digits"])
def test_mixing_regularisation_is_active_in_training(name):
  """At init the noise strengths are zero, so two training-mode calls on the same z differ
  only through the mixing draw: with mixing_prob 0.9 they differ, with 0 they are equal."""
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 8))
  out = {}
  for prob in (0.9, 0.0):
    trainer = _trainer(name, **{"generator.mixing_prob": prob})
    state = trainer.init_state(jax.random.PRNGKey(0))
    images = [trainer.nets.generate(state.g_params, state.g_state, z, None, train=True,
                                    key=jax.random.PRNGKey(k))[0] for k in range(4)]
    out[prob] = max(float(jnp.max(jnp.abs(x - images[0]))) for x in images[1:])
  assert out[0.9] > 1e-4 and out[0.0] == 0.0


def _cells(grid, size, rows, columns):
  """The (rows, columns) cells of size x size of an image_grid picture (pad 1)."""
  return np.stack([np.stack([grid[1 + r * (size + 1):1 + r * (size + 1) + size,
                                  1 + c * (size + 1):1 + c * (size + 1) + size]
                             for c in range(columns)]) for r in range(rows)])


def test_style_mixing_grid_copies_each_band_from_the_rows():
  trainer = _trainer("stylegan2_digits", **{"data.image_size": 32})  # 8 ws: coarse, middle
  state = trainer.init_state(jax.random.PRNGKey(0))
  # Untrained toRGB outputs are tiny: scale the toRGB weights so the images span [-1, 1].
  scaled = []

  def scale(path, x):
    if "rgb" in jax.tree_util.keystr(path).lower():
      scaled.append(path)
      return x * 50.0
    return x
  state = state.replace(ema_params=jax.tree_util.tree_map_with_path(scale, state.ema_params))
  assert scaled
  grid, bands = trainer.style_mixing_grid(state, rows=2, columns=3, seed=1)
  assert bands == ["coarse", "middle"]
  cells = _cells(grid, 32, 1 + 2 * 2, 4)
  assert grid.shape == (5 * 33 + 1, 4 * 33 + 1, 1)
  assert np.all(cells[0, 0] == 0)  # the blank corner
  tops, lefts = cells[0, 1:], cells[1:, 0]
  assert not np.array_equal(tops[0], tops[1]) and np.array_equal(lefts[0], lefts[2])
  for b in range(2):
    for r in range(2):
      for c in range(3):
        cell = cells[1 + 2 * b + r, 1 + c]
        assert not np.array_equal(cell, tops[c]) and not np.array_equal(cell, lefts[r])
  # Mixed cells of the two bands differ: different layers came from B.
  assert not np.array_equal(cells[1, 1], cells[3, 1])


def _records(workdir):
  with open(workdir / "metrics.jsonl", encoding="utf-8") as f:
    return [r for r in map(json.loads, f) if not any(k.startswith("eval/") for k in r)]


def test_stylegan2_trains_samples_truncates_and_keeps_pl_mean(tmp_path, capsys):
  from jaxgan.train.checkpoints import Checkpointer  # pylint: disable=g-import-not-at-top
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  workdir = tmp_path / "w"
  overrides = {**TINY, **RUN, **PATH_LENGTH}
  assert cli.main(["train", "--config", str(REPO / "configs" / "stylegan2_digits.py"),
                   "--workdir", str(workdir), "--no-tensorboard",
                   *[f"--config.{k}={v}" for k, v in overrides.items()]]) == 0
  records = _records(workdir)
  # Iteration 0 runs lazy R1 and path length, iteration 1 neither.
  assert "r1" in records[0] and "path_length" in records[0] and "pl_mean" in records[0]
  assert not {"r1", "path_length", "pl_mean"} & set(records[1])
  assert records[0]["pl_mean"] != 0.0

  # pl_mean is in the checkpointed state: restored, it is the value the step logged.
  config = json.loads((workdir / "config.json").read_text())
  import ml_collections  # pylint: disable=g-import-not-at-top
  experiment = Experiment(ml_collections.ConfigDict(config))
  checkpointer = Checkpointer(str(workdir), 3)
  for step in (1, 2):
    state = checkpointer.restore(step, experiment.abstract_state)
    assert float(state.extra["pl_mean"]) == pytest.approx(records[0]["pl_mean"], rel=1e-6)
  checkpointer.close()
  assert float(experiment.init_state().extra["pl_mean"]) == 0.0

  # --truncation 0: psi in W, every sample the average image; 1: the untruncated samples.
  out0, out1 = tmp_path / "psi0.npz", tmp_path / "psi1.npz"
  assert cli.main(["sample", "--workdir", str(workdir), "--num", "6", "--out", str(out0),
                   "--truncation", "0"]) == 0
  assert cli.main(["sample", "--workdir", str(workdir), "--num", "6", "--out", str(out1)]) == 0
  psi0, psi1 = np.load(out0)["samples"], np.load(out1)["samples"]
  assert psi0.shape == (6, 8, 8, 1) and psi0.dtype == np.uint8
  assert np.all(psi0 == psi0[:1])
  g = experiment.trainer
  float0 = g.generate_outputs(state, 6, 0, truncation=0.0)["samples"]
  # Equal up to rounding (one w in six rows of a batch can differ in the last bits on some CPUs).
  np.testing.assert_allclose(float0, np.broadcast_to(float0[:1], float0.shape), atol=1e-5)
  float1 = g.generate_outputs(state, 6, 0)["samples"]
  assert np.max(np.ptp(float1, axis=0)) > 1e-2  # different latents, different images
  capsys.readouterr()
  assert cli.main(["sample", "--workdir", str(workdir), "--num", "2", "--out", str(out0),
                   "--truncation", "nan"]) == 1
  assert "--truncation must be finite" in capsys.readouterr().err

  # The style-mixing grid: at 8x8 (4 ws) there is only the coarse band, and it covers every
  # layer, so each mixed cell is its row's source-B image.
  png = tmp_path / "mix.png"
  assert cli.main(["mix", "--workdir", str(workdir), "--out", str(png), "--rows", "2",
                   "--columns", "3"]) == 0
  assert "coarse styles from the rows" in capsys.readouterr().err
  from PIL import Image  # pylint: disable=g-import-not-at-top
  grid = np.asarray(Image.open(png))[..., None]
  cells = _cells(grid, 8, 3, 4)
  for r in range(2):
    for c in range(3):
      assert np.array_equal(cells[1 + r, 1 + c], cells[1 + r, 0])
  assert cli.main(["mix", "--workdir", str(workdir), "--out", str(tmp_path / "x.jpg")]) == 1


def test_stylegan2_ffhq_keeps_config_f_where_the_digits_config_departs():
  """stylegan2_ffhq builds on stylegan2_digits: the digits config's small-data settings (no path
  length, no mixing, lr 0.0025, gamma 1, batch 16) must not leak into config F."""
  config = load_config_file(str(REPO / "configs" / "stylegan2_ffhq.py"))
  assert dict(config.g_terms.path_length) == {"weight": 2.0, "every": 4}
  assert config.generator.mixing_prob == 0.9
  assert dict(config.d_terms.r1) == {"weight": 5.0, "every": 16}
  assert config.batch_size == 32
  for side in ("g", "d"):
    assert config.optimizer[side].lr == 2e-3
