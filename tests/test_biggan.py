"""SAGAN and BigGAN: the full-size models (parameter counts, one step at a tiny batch on CPU),
and the BigGAN trainer's pieces on a tiny model: orthogonal regularisation in the G step,
spectral-norm state, the truncation trick, standing statistics, mixed precision, gradient
accumulation through the projection D, and `jaxgan sample/evaluate --truncation`."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import cli, losses, models
from jaxgan.config import apply_overrides, load_config_file
from jaxgan.data.base import DataInfo
from jaxgan.train import adversarial
from jaxgan.train.experiment import Experiment
from jaxgan.train.phases import compose_step

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGENET128 = DataInfo("imagenet2012", "images", (128, 128, 3), 1000)

TINY_BIGGAN = {
    "batch_size": "8", "latent_dim": "8", "data.image_size": "8", "n_critic": "1",
    "generator.ch": "2", "generator.channel_multipliers": "(4, 4)",
    "generator.attention_resolutions": "(8,)", "generator.shared_dim": "4",
    "discriminator.ch": "2", "discriminator.channel_multipliers": "(4, 4)",
    "discriminator.downsample": "(True, False)", "discriminator.attention_resolutions": "(4,)",
    "ema.start": "0", "standing_stats": "3", "eval.num_samples": "20", "sample_grid": "2",
}


def config_of(name, **overrides):
  config = load_config_file(os.path.join(REPO, "configs", name + ".py"))
  return apply_overrides(config, {k: str(v) for k, v in overrides.items()})


def tiny_biggan(**overrides):
  return config_of("biggan_digits", **{**TINY_BIGGAN, **overrides})


def count_params(tree) -> int:
  return int(sum(np.prod(x.shape, dtype=np.int64) for x in jax.tree_util.tree_leaves(tree)))


def _param_counts(config, info):
  generator, discriminator = models.build(config, info)
  z = jnp.zeros((2, config.latent_dim))
  labels = jnp.zeros((2,), jnp.int32)
  g = jax.eval_shape(lambda: generator.init(jax.random.PRNGKey(0), z, labels, train=True))
  x = jnp.zeros((2,) + info.shape)
  d = jax.eval_shape(lambda: discriminator.init(jax.random.PRNGKey(0), x, labels, train=True))
  return count_params(g["params"]), count_params(d["params"]), g, d


# ---------------------------------------------------------------------------------------------
# The papers' full-size models.


def test_biggan128_has_the_papers_parameter_count():
  g_count, d_count, g_vars, d_vars = _param_counts(config_of("biggan_imagenet128"), IMAGENET128)
  assert g_count == 70_433_988  # the paper's 70.4M (BigGAN-PyTorch's G counts the same)
  assert d_count == 87_982_370  # 88.0M
  # Power-iteration vectors and BN statistics are state, not parameters.
  assert set(g_vars) == {"params", "batch_stats", "spectral"}
  assert set(d_vars) == {"params", "spectral"}


def test_sagan128_parameter_count():
  g_count, d_count, _, _ = _param_counts(config_of("sagan_imagenet128"), IMAGENET128)
  assert (g_count, d_count) == (42_078_852, 39_463_618)


def test_imagenet128_configs_follow_the_papers():
  c = config_of("biggan_imagenet128")
  # One source: the paper's rates with its 2 D steps (not BigGAN-PyTorch's 1e-4 / 4e-4, which
  # it runs with 1 D step).
  assert (c.batch_size, c.grad_accum_steps, c.n_critic) == (2048, 8, 2)
  assert (c.optimizer.g.lr, c.optimizer.d.lr, c.optimizer.g.b1, c.optimizer.g.b2) == (
      5e-5, 2e-4, 0.0, 0.999)
  assert (c.optimizer.d.b1, c.optimizer.d.b2) == (0.0, 0.999)
  assert (c.loss, c.g_terms.ortho_reg.weight, c.ema.decay, c.ema.start) == (
      "hinge", 1e-4, 0.9999, 20000)
  assert c.latent_dim == 120 and c.generator.attention_resolutions == (64,)
  s = config_of("sagan_imagenet128")
  assert (s.optimizer.g.lr, s.optimizer.d.lr, s.optimizer.d.b1, s.optimizer.d.b2) == (
      1e-4, 4e-4, 0.0, 0.9)
  assert s.loss == "hinge" and s.generator.attention_resolutions == (32,)


@pytest.mark.parametrize("name,info,counts", [
    ("biggan_digits", DataInfo("digits", "images", (16, 16, 1), 10), (74_338, 49_314)),
    ("sagan_digits", DataInfo("digits", "images", (16, 16, 1), 10), (109_346, 49_314)),
    # BigGAN-PyTorch's CIFAR model: G 4.3M, D 4.2M.
    ("biggan_cifar10", DataInfo("cifar10", "images", (32, 32, 3), 10), (4_373_251, 4_207_361)),
])
def test_small_configs_build_with_exact_parameter_counts(name, info, counts):
  g_count, d_count, g_vars, d_vars = _param_counts(config_of(name), info)
  assert (g_count, d_count) == counts
  assert set(g_vars) == {"params", "batch_stats", "spectral"}
  assert set(d_vars) == {"params", "spectral"}


FULL_SIZE_STEPS = os.environ.get("JAXGAN_SLOW_TESTS", "") not in ("", "0")


@pytest.mark.skipif(not FULL_SIZE_STEPS, reason="minutes of CPU each (BigGAN-128: 158M "
                    "parameters, attention at 64x64); run with JAXGAN_SLOW_TESTS=1")
@pytest.mark.parametrize("name", ["biggan_imagenet128", "sagan_imagenet128"])
def test_full_size_model_takes_one_step_at_a_tiny_batch(name):
  # The paper's networks at 128x128 and 1000 classes, one G step and one D step on a batch of 2
  # (ImageNet itself is not needed: the step takes any batch of the right shape).
  config = config_of(name, batch_size=2, grad_accum_steps=1, n_critic=1)
  trainer = adversarial.AdversarialTrainer(config, IMAGENET128)
  state = jax.jit(trainer.init_state)(jax.random.PRNGKey(0))
  batch = {"image": jax.random.uniform(jax.random.PRNGKey(1), (1, 2, 128, 128, 3), minval=-1.0),
           "label": jnp.array([[3, 999]], jnp.int32)}
  before = [np.asarray(x).copy() for x in jax.tree_util.tree_leaves(state.g_params)]
  phases = trainer.phases(lambda x: x)
  step = compose_step(phases, trainer.step_variant(phases, 0), trainer.num_keys)
  state, metrics = jax.jit(step, donate_argnums=0)(state, batch)
  for k, v in metrics.items():
    assert np.isfinite(float(v)), k
  assert int(state.step) == 1
  moved = [np.max(np.abs(np.asarray(x) - b)) > 0
           for x, b in zip(jax.tree_util.tree_leaves(state.g_params), before)]
  assert np.mean(moved) > 0.5  # (attention's convs get no gradient while gamma is 0)
  if name.startswith("biggan"):
    assert float(metrics["ortho_reg"]) > 0


# ---------------------------------------------------------------------------------------------
# The BigGAN trainer on a tiny model.


def _all_eqns(jaxpr):
  """Equations of a jaxpr and of the jaxprs nested in it (custom_vjp calls, pjit, ...)."""
  for eqn in jaxpr.eqns:
    yield eqn
    for value in eqn.params.values():
      inner = getattr(value, "jaxpr", value)
      if hasattr(inner, "eqns"):
        yield from _all_eqns(inner)


def _leaf(tree, *keys):
  for k in keys:
    tree = tree[k]
  return np.asarray(tree)


def test_tiny_biggan_step_truncation_and_standing_statistics():
  experiment = Experiment(tiny_biggan())
  trainer = experiment.trainer
  state = experiment.init_state()
  assert set(state.g_state) == {"batch_stats", "spectral"} and set(state.d_state) == {"spectral"}
  assert "shared" in state.g_params  # the shared class embedding
  # (G's input layer: a wide matrix. An orthogonally initialised tall one, W^T W = I, has
  # every u as a fixed point of the power iteration until training changes W.)
  u_before = _leaf(state.g_state, "spectral", "input", "sn", "u").copy()
  kernel_before = _leaf(state.d_params, "block0", "conv1", "kernel").copy()
  batch = experiment.next_batch(experiment.train_iterator())
  state, metrics = experiment.train_step(state, batch)
  # The G loss carries BigGAN's orthogonal regulariser, computed from G's weights.
  assert float(metrics["ortho_reg"]) > 0
  assert np.isfinite(float(metrics["g_loss"]))
  # Training moved the power-iteration vectors (state) and the weights (params) apart.
  assert not np.allclose(_leaf(state.g_state, "spectral", "input", "sn", "u"), u_before)
  assert not np.allclose(_leaf(state.d_params, "block0", "conv1", "kernel"), kernel_before)

  # Truncation trick: values beyond the threshold are resampled, the others kept as drawn.
  z, labels = trainer.latents(jax.random.PRNGKey(0), 4000, truncation=0.5)
  z = np.asarray(z)
  assert z.shape == (4000, 8) and np.max(np.abs(z)) <= 0.5
  np.testing.assert_array_equal(labels[:12], np.arange(12) % 10)
  # N(0,1) truncated to [-0.5, 0.5] is nearly uniform there: about half its mass within 0.25.
  assert 0.48 < np.mean(np.abs(z) < 0.25) < 0.54
  key = jax.random.PRNGKey(3)
  wide = np.asarray(adversarial.truncated_latents(key, (50, 8), 100.0))
  plain = np.asarray(jax.random.normal(jax.random.split(key)[1], (50, 8)))
  np.testing.assert_array_equal(wide, plain)  # nothing beyond the threshold: nothing resampled
  narrow = np.asarray(adversarial.truncated_latents(key, (50, 8), 1.0))
  kept = np.abs(plain) <= 1.0
  np.testing.assert_array_equal(narrow[kept], plain[kept])

  # Standing statistics: the EMA G's BN statistics are the average of its own batches' ones.
  standing = trainer.standing_g_state(state)
  params = state.ema_params
  generator = experiment.nets.generator
  keys = jax.random.split(jax.random.PRNGKey(adversarial.STANDING_KEY), 3)
  means = []
  for k in keys:
    z_key, y_key = jax.random.split(k)
    z, _ = trainer.latents(z_key, 8)
    y = jax.random.randint(y_key, (8,), 0, 10, jnp.int32)
    _, inter = generator.apply({"params": params, **state.g_state}, z, y, train=True,
                               capture_intermediates=True, mutable=["batch_stats", "spectral",
                                                                    "intermediates"])
    features = inter["intermediates"]["attention8"]["__call__"][0]  # what output_bn normalises
    means.append(np.mean(np.asarray(features), axis=(0, 1, 2)))
  np.testing.assert_allclose(
      _leaf(standing, "batch_stats", "output_bn", "bn", "mean"), np.mean(means, axis=0),
      rtol=1e-4, atol=1e-5)
  assert not np.allclose(_leaf(standing, "batch_stats", "output_bn", "bn", "mean"),
                         _leaf(state.g_state, "batch_stats", "output_bn", "bn", "mean"))
  # Sampling: the spectral state is read, not written, and the samples are images.
  out = trainer.sample_outputs(state, 6, seed=0, truncation=0.7)
  assert out["samples"].shape == (6, 8, 8, 1) and out["samples"].dtype == np.uint8
  np.testing.assert_array_equal(out["labels"], np.arange(6))


def _power_step(kernel, u):
  """One power iteration by hand, in float64: v = Wu/|Wu|, u' = W^T v/|W^T v|, W (fan_in, out)."""
  w = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])
  v = w @ np.asarray(u, np.float64)
  v /= np.linalg.norm(v)
  u = w.T @ v
  return u / np.linalg.norm(u)


def _sn_layers(params, collections):
  """{path: (weight, u)} of every spectrally normalised layer: 'spectral' .../sn/u beside the
  layer's own kernel (or transposed embedding table) in params."""
  out = {}
  for path, u in jax.tree_util.tree_flatten_with_path(collections["spectral"])[0]:
    keys = [p.key for p in path]
    assert keys[-2:] == ["sn", "u"], keys
    layer = params
    for k in keys[:-2]:
      layer = layer[k]
    # The embedding table (classes, features) is normalised transposed: u is on the class side.
    weight = (np.asarray(layer["kernel"]) if "kernel" in layer else
              np.asarray(layer["embedding"]).T)
    out["/".join(keys[:-2])] = (weight, np.asarray(u))
  return out


def test_one_update_with_micro_batches_advances_spectral_norm_by_one_power_iteration():
  # The reference runs D once on real and fake together: one power iteration per D update.
  # Here D is called on reals and fakes of 2 micro-batches (4 calls) and G on 2 micro-batches,
  # and each update must still advance every u by exactly one iteration from the weights it
  # updated. (Normal init: from an orthogonal one u reaches a fixed point in one iteration,
  # and one iteration could not be told from several.)
  experiment = Experiment(tiny_biggan(**{"grad_accum_steps": 2, "generator.init": "normal",
                                         "discriminator.init": "normal"}))
  state = experiment.init_state()
  d_before = _sn_layers(*jax.device_get((state.d_params, state.d_state)))
  g_before = _sn_layers(*jax.device_get((state.g_params, state.g_state)))
  state, _ = experiment.train_step(state, experiment.next_batch(experiment.train_iterator()))
  d_after = _sn_layers(*jax.device_get((state.d_params, state.d_state)))
  g_after = _sn_layers(*jax.device_get((state.g_params, state.g_state)))
  assert len(d_before) == 11 and len(g_before) == 13  # every SN layer of both
  steps_apart = []
  for before, after in ((d_before, d_after), (g_before, g_after)):
    for name, (kernel, u) in before.items():
      once = _power_step(kernel, u)
      np.testing.assert_allclose(after[name][1], once, rtol=1e-5, atol=1e-6, err_msg=name)
      steps_apart.append(np.max(np.abs(_power_step(kernel, once) - once)))
  assert max(steps_apart) > 1e-2  # (two iterations would be told apart from one)


def test_tiny_biggan_in_bfloat16_keeps_float32_params_and_optimizer_state():
  experiment = Experiment(tiny_biggan(compute_dtype="bfloat16"))
  state = experiment.init_state()
  state, metrics = experiment.train_step(
      state, experiment.next_batch(experiment.train_iterator()))
  for name in ("g_params", "d_params", "ema_params", "g_opt_state", "d_opt_state", "g_state",
               "d_state"):
    for leaf in jax.tree_util.tree_leaves(getattr(state, name)):
      if jnp.issubdtype(leaf.dtype, jnp.floating):
        assert leaf.dtype == jnp.float32, name
  for k, v in metrics.items():
    assert np.isfinite(float(v)), k
  g = experiment.nets.generator
  z = jnp.zeros((2, 8))
  y = jnp.zeros((2,), jnp.int32)
  variables = {"params": state.g_params, **state.g_state}
  # Every convolution of G and D runs in bfloat16 (as test_step checks DCGAN's).
  jaxpr = jax.make_jaxpr(lambda v: g.apply(v, z, y, train=False))(variables)
  convs = [e for e in _all_eqns(jaxpr.jaxpr) if e.primitive.name == "conv_general_dilated"]
  assert len(convs) >= 5 and all(e.outvars[0].aval.dtype == jnp.bfloat16 for e in convs)
  d = experiment.nets.discriminator
  x = jnp.zeros((2, 8, 8, 1))
  jaxpr = jax.make_jaxpr(lambda v: d.apply(v, x, y, train=False))(
      {"params": state.d_params, **state.d_state})
  convs = [e for e in _all_eqns(jaxpr.jaxpr) if e.primitive.name == "conv_general_dilated"]
  assert len(convs) >= 5 and all(e.outvars[0].aval.dtype == jnp.bfloat16 for e in convs)
  assert g.apply(variables, z, y, train=False).dtype == jnp.float32


def test_projection_discriminator_gradient_accumulates_to_the_big_batch_gradient():
  # Nothing in SAGAN/BigGAN's D mixes the examples of a batch (no batch norm; attention within
  # each image), so k micro-batches give the big batch's gradient. The spectral state is held
  # fixed, as in training, where every micro-batch of an update reads the same u.
  config = tiny_biggan()
  _, discriminator = models.build(config, DataInfo("digits", "images", (8, 8, 1), 10))
  real = jax.random.uniform(jax.random.PRNGKey(0), (16, 8, 8, 1), minval=-1.0)
  fake = jax.random.uniform(jax.random.PRNGKey(1), (16, 8, 8, 1), minval=-1.0)
  labels = jnp.arange(16) % 10
  variables = discriminator.init(jax.random.PRNGKey(2), real, labels, train=True)
  params, spectral = variables["params"], {"spectral": variables["spectral"]}

  def loss_fn(p, aux, inputs):
    r, f, y = inputs
    d = lambda x: discriminator.apply({"params": p, **spectral}, x, y, train=False)
    loss = losses.hinge_d(d(r), d(f))
    return loss, (aux, {"d_loss": loss})

  big, _ = jax.jit(lambda p: adversarial.accumulate_grads(loss_fn, p, 0, (real, fake, labels),
                                                          1))(params)
  micro = adversarial.split_micro((real, fake, labels), 2)
  acc, _ = jax.jit(lambda p: adversarial.accumulate_grads(loss_fn, p, 0, micro, 2))(params)
  for a, b in zip(jax.tree_util.tree_leaves(acc), jax.tree_util.tree_leaves(big)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def test_cli_sample_and_evaluate_with_truncation(tmp_path, capsys):
  workdir = str(tmp_path / "run")
  overrides = [f"--config.{k}={v}" for k, v in TINY_BIGGAN.items()]
  assert cli.main(["train", "--config", os.path.join(REPO, "configs", "biggan_digits.py"),
                   "--workdir", workdir, "--no-tensorboard", "--config.steps=2",
                   "--config.checkpoint_every=2"] + overrides) == 0
  out = str(tmp_path / "s.npz")
  assert cli.main(["sample", "--workdir", workdir, "--num", "12", "--out", out,
                   "--truncation", "0.5"]) == 0
  with np.load(out) as f:
    assert f["samples"].shape == (12, 8, 8, 1) and f["samples"].dtype == np.uint8
    np.testing.assert_array_equal(f["labels"], np.arange(12) % 10)
  capsys.readouterr()
  assert cli.main(["evaluate", "--workdir", workdir, "--num-samples", "20",
                   "--truncation", "0.5"]) == 0
  scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert scores["truncation"] == 0.5 and "label_accuracy" in scores and "fd" in scores
  assert cli.main(["sample", "--workdir", workdir, "--num", "2", "--out", out,
                   "--truncation", "0"]) == 1
  assert "--truncation must be > 0" in capsys.readouterr().err
