"""The adversarial train step and the models it trains, on tiny configs.

Covers: 8 forced CPU devices == 1 device (BatchNorm over the global batch), gradient
accumulation, n_critic, weight clipping, the EMA of G, mixed precision, and the DCGAN / CGAN
model structure.
"""

import json
import os
import subprocess
import sys
import textwrap

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses
from jaxgan.config import load_config_file
from jaxgan.data.base import DataInfo
from jaxgan.models import cgan, dcgan
from jaxgan.nn.transposed_conv import FractionallyStridedConv
from jaxgan.train import adversarial
from jaxgan.train import phases as phases_lib
from jaxgan.train.experiment import Experiment

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(name: str, **overrides):
  """configs/<name>.py with dotted-key overrides (values set as given, typed by the caller)."""
  config = load_config_file(os.path.join(REPO, "configs", name + ".py"))
  with config.unlocked():
    for key, value in overrides.items():
      *parents, leaf = key.split(".")
      node = config
      for p in parents:
        node = node[p]
      node[leaf] = value
  return config


def ring8(**overrides):
  base = {"batch_size": 16, "latent_dim": 2, "generator.hidden": (16, 16),
          "discriminator.hidden": (16,), "discriminator.maxout_pieces": 2}
  return tiny_config("gan_ring8", **{**base, **overrides})


def dcgan_digits(**overrides):
  base = {"batch_size": 16, "latent_dim": 8, "data.image_size": 8,
          "generator.base_features": 4, "discriminator.base_features": 4}
  return tiny_config("dcgan_digits", **{**base, **overrides})


def host(tree):
  """A numpy copy (the jitted step donates its input state)."""
  return jax.tree_util.tree_map(lambda x: np.array(x), tree)


def run_steps(experiment, num_steps, state=None, iterator=None):
  state = experiment.init_state() if state is None else state
  iterator = experiment.train_iterator() if iterator is None else iterator
  metrics = None
  for _ in range(num_steps):
    batch = experiment.place_batch(
        [next(iterator) for _ in range(experiment.config.n_critic)])
    state, metrics = experiment.train_step(state, batch)
  return state, metrics


def assert_trees_close(a, b, **tol):
  assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
  for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(a)[0],
                          jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path),
                               **tol)


# ---------------------------------------------------------------------------------------------
# 8 devices == 1 device.

_DEVICE_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import jax, numpy as np
    sys.path.insert(0, {repo!r})
    from tests.test_step import dcgan_digits, run_steps
    from jaxgan.train.experiment import Experiment
    from jaxgan.config import optimizer_config

    # 16x16: G has BatchNorm after its projection and its hidden fractionally-strided conv, D
    # after its second conv. SGD, so the update is proportional to the gradient (Adam's first
    # step is lr * sign(g) and would hide most gradient differences).
    config = dcgan_digits(**{{"data.image_size": 16, "batch_size": 16}})
    with config.unlocked():
      config.optimizer.g = optimizer_config("sgd", lr=0.5)
      config.optimizer.d = optimizer_config("sgd", lr=0.5)
    experiment = Experiment(config)
    iterator = experiment.train_iterator()
    batch = experiment.place_batch([next(iterator)])
    image = batch["image"]
    info = {{
        "num_devices": len(jax.devices()),
        "mesh_size": int(experiment.mesh.devices.size),
        "num_shards": len(image.addressable_shards),
        "shard_shapes": sorted({{tuple(s.data.shape) for s in image.addressable_shards}}),
        "shard_devices": len({{s.device for s in image.addressable_shards}}),
        "global_shape": list(image.shape),
    }}
    state = experiment.init_state()
    state, metrics = experiment.train_step(state, batch)
    arrays = {{}}
    for name in ("g_params", "d_params", "g_state", "d_state"):
      for path, leaf in jax.tree_util.tree_flatten_with_path(getattr(state, name))[0]:
        arrays[name + jax.tree_util.keystr(path)] = np.asarray(leaf)
    for k, v in metrics.items():
      arrays["metric/" + k] = np.asarray(v)
    np.savez(sys.argv[1], **arrays)
    with open(sys.argv[2], "w") as f:
      json.dump(info, f)
    """)


def _run_on_devices(tmp_path, device_counts):
  """Runs the script once per device count, all at once; -> [(arrays, info)] in that order."""
  script = tmp_path / "step_on_devices.py"
  script.write_text(_DEVICE_SCRIPT.format(repo=REPO))
  procs = []
  for n in device_counts:
    out, info = tmp_path / f"state{n}.npz", tmp_path / f"info{n}.json"
    env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "")
                                      + f" --xla_force_host_platform_device_count={n}"),
               JAX_PLATFORMS="cpu")
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(info)], env=env,
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append((proc, out, info))
  results = []
  for proc, out, info in procs:
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    with np.load(out) as arrays:
      results.append((dict(arrays), json.loads(info.read_text())))
  return results


def test_eight_devices_step_equals_one_device_step(tmp_path):
  (one, info1), (eight, info8) = _run_on_devices(tmp_path, [1, 8])
  # The batch [n_critic=1, 16, 16, 16, 1] really was split over the 8 devices, 2 examples each.
  assert info1["num_devices"] == 1 and info1["num_shards"] == 1
  assert info8["num_devices"] == 8 and info8["mesh_size"] == 8
  assert info8["num_shards"] == 8 and info8["shard_devices"] == 8
  assert info8["shard_shapes"] == [[1, 2, 16, 16, 1]]
  assert info8["global_shape"] == info1["global_shape"] == [1, 16, 16, 16, 1]

  assert sorted(one) == sorted(eight)
  # BatchNorm running statistics are in the state: equal only if each device normalised with
  # the statistics of the whole global batch (per-device statistics over 2 examples differ).
  assert any("batch_stats" in k and "mean" in k for k in one if k.startswith("g_state"))
  assert any("batch_stats" in k and "mean" in k for k in one if k.startswith("d_state"))
  # The tolerance is rounding's (the order of the reductions differs; SGD at lr 0.5 magnifies it:
  # 1.4e-6 seen on one weight of G's first layer with InfoGAN's code on, 4.0e-6 on one weight of
  # G's second layer on a newer 2-core EPYC); per-device statistics would differ by orders of
  # magnitude more.
  for k in sorted(one):
    np.testing.assert_allclose(eight[k], one[k], rtol=2e-5, atol=1e-5, err_msg=k)


# ---------------------------------------------------------------------------------------------
# Gradient accumulation.


def test_split_micro_takes_every_kth_example():
  x = jnp.arange(12).reshape(12, 1)
  micro = adversarial.split_micro({"x": x}, 4)["x"]
  assert micro.shape == (4, 3, 1)
  np.testing.assert_array_equal(micro[:, :, 0], [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]])
  assert adversarial.split_micro({"x": x}, 1)["x"] is x


def test_accumulate_grads_equals_the_big_batch_gradient():
  # A deterministic loss: an MLP critic's minimax loss on fixed real and fake batches of 32
  # (no dropout, no batch norm), so the mean of 4 micro-batch gradients of 8 must equal the
  # gradient over the whole batch. The aux state counts the micro-batches it passed through.
  critic = nn.Sequential([nn.Dense(16), nn.relu, nn.Dense(8), nn.relu, nn.Dense(1)])
  k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
  real = jax.random.normal(k1, (32, 5)) + 1.0
  fake = jax.random.normal(k2, (32, 5))
  params = critic.init(k3, real)

  def loss_fn(params, count, inputs):
    r, f = inputs
    real_logits = critic.apply(params, r)[:, 0]
    fake_logits = critic.apply(params, f)[:, 0]
    loss = losses.minimax_d(real_logits, fake_logits)
    return loss, (count + 1, {"loss": loss})

  accumulate = jax.jit(adversarial.accumulate_grads, static_argnums=(0, 4))
  big_grads, (count1, metrics1) = accumulate(loss_fn, params, 0, (real, fake), 1)
  reference = jax.jit(jax.grad(lambda p: loss_fn(p, 0, (real, fake))[0]))(params)
  assert_trees_close(big_grads, reference, rtol=1e-6, atol=1e-7)
  assert count1 == 1

  micro = adversarial.split_micro((real, fake), 4)
  acc_grads, (count4, metrics4) = accumulate(loss_fn, params, 0, micro, 4)
  assert_trees_close(acc_grads, reference, rtol=1e-5, atol=1e-7)
  assert count4 == 4  # the aux state is threaded through all 4 micro-batches
  # The metric is the mean of the micro-batch losses, which is the big-batch loss here.
  assert float(metrics4["loss"]) == pytest.approx(float(metrics1["loss"]), rel=1e-5)
  # And a non-trivial gradient, so the comparison means something.
  assert max(float(jnp.max(jnp.abs(g))) for g in jax.tree_util.tree_leaves(reference)) > 1e-3


def _zero_generator_step(grad_accum_steps):
  """A full train step of a ring8 MLP GAN whose G starts at all-zero weights.

  The micro-batched step draws its own noise keys per micro-batch, so in general its noise
  differs from the big batch's. With every G weight zero (points: a linear output layer),
  G(z) = 0 for every z, and as the hidden activations stay 0 only G's output bias gets gradient:
  G's output does not depend on the noise, so neither does the step. Everything else
  (real batches, D's gradient, G's gradient) must then agree between 1 and 4 micro-batches.
  """
  from jaxgan.config import optimizer_config
  config = ring8(batch_size=32, grad_accum_steps=grad_accum_steps)
  with config.unlocked():
    config.optimizer.g = optimizer_config("sgd", lr=0.1)
    config.optimizer.d = optimizer_config("sgd", lr=0.1)
  experiment = Experiment(config)
  state = experiment.init_state()
  state = state.replace(g_params=jax.tree_util.tree_map(jnp.zeros_like, state.g_params))
  state, metrics = run_steps(experiment, 1, state=state)
  return host(state), host(metrics)


def test_grad_accumulation_train_step_equals_big_batch_step():
  state1, metrics1 = _zero_generator_step(1)
  state4, metrics4 = _zero_generator_step(4)
  # The steps really trained: D moved, and G's output bias moved off zero.
  assert float(np.max(np.abs(state1.g_params["Dense_2"]["bias"]))) > 1e-4
  assert_trees_close(state4.d_params, state1.d_params, rtol=1e-5, atol=1e-6)
  assert_trees_close(state4.g_params, state1.g_params, rtol=1e-5, atol=1e-6)
  for k in ("d_loss", "g_loss"):
    assert metrics4[k] == pytest.approx(metrics1[k], rel=1e-5)


# ---------------------------------------------------------------------------------------------
# n_critic, clipping, EMA.


def _counts(opt_state):
  counts = [int(leaf) for path, leaf in jax.tree_util.tree_flatten_with_path(opt_state)[0]
            if "count" in jax.tree_util.keystr(path)]
  assert counts, "no optimizer step counter found"
  return set(counts)


@pytest.fixture(scope="module")
def n_critic_experiment():
  return Experiment(ring8(n_critic=5))


def test_n_critic_updates_d_five_times_per_g_update(n_critic_experiment):
  experiment = n_critic_experiment
  state = experiment.init_state()
  assert _counts(state.d_opt_state) == {0} and _counts(state.g_opt_state) == {0}
  state, _ = run_steps(experiment, 1, state=state)
  assert _counts(state.d_opt_state) == {5}
  assert _counts(state.g_opt_state) == {1}
  assert int(state.step) == 1
  state, _ = run_steps(experiment, 1, state=state)
  assert _counts(state.d_opt_state) == {10} and _counts(state.g_opt_state) == {2}
  assert int(state.step) == 2
  assert state.ema_params is None  # ema.decay = 0 keeps no EMA


def test_n_critic_uses_a_different_real_batch_per_critic_update(n_critic_experiment):
  # Feeding 5 identical real batches vs 5 different ones must change D's update.
  experiment = n_critic_experiment
  iterator = experiment.train_iterator()
  batches = [next(iterator) for _ in range(5)]
  same = host(experiment.train_step(experiment.init_state(),
                                    experiment.place_batch([batches[0]] * 5))[0].d_params)
  different = host(experiment.train_step(experiment.init_state(),
                                         experiment.place_batch(batches))[0].d_params)
  diffs = [np.max(np.abs(a - b)) for a, b in zip(jax.tree_util.tree_leaves(same),
                                                 jax.tree_util.tree_leaves(different))]
  assert max(diffs) > 1e-6


def test_weight_clipping_keeps_every_critic_parameter_in_range():
  config = tiny_config("wgan_digits", **{"batch_size": 16, "latent_dim": 8, "data.image_size": 8,
                                         "generator.base_features": 4,
                                         "discriminator.base_features": 4, "n_critic": 1,
                                         "critic_boost.iterations": 0})
  c = config.clip_value
  assert c == 0.01
  experiment = Experiment(config)
  init = host(experiment.init_state())
  # N(0, 0.02) initial weights: many lie outside [-c, c] before the step.
  assert max(np.max(np.abs(x)) for x in jax.tree_util.tree_leaves(init.d_params)) > c
  state, _ = run_steps(experiment, 1)
  d_leaves = jax.tree_util.tree_leaves(host(state.d_params))
  for leaf in d_leaves:
    assert np.all(np.abs(leaf) <= np.float32(c))
  assert any(np.any(np.abs(leaf) == np.float32(c)) for leaf in d_leaves)  # clipping was active
  # G is not clipped.
  assert max(np.max(np.abs(x)) for x in jax.tree_util.tree_leaves(host(state.g_params))) > c


def test_ema_after_one_step_is_the_decayed_average_of_init_and_new_params():
  # decay 0.9: ema = 0.9 * old + 0.1 * new (at 0.5 an inverted decay would pass).
  experiment = Experiment(ring8(**{"ema.decay": 0.9, "ema.start": 0}))
  state = experiment.init_state()
  init = host(state)
  np.testing.assert_equal(init.ema_params, init.g_params)
  state, _ = run_steps(experiment, 1, state=state)
  new = host(state)
  expected = jax.tree_util.tree_map(lambda a, b: 0.9 * a + 0.1 * b, init.g_params, new.g_params)
  assert_trees_close(new.ema_params, expected, rtol=1e-6, atol=1e-7)
  # and it is strictly between: G moved, so the EMA differs from both.
  assert any(np.max(np.abs(a - b)) > 1e-6 for a, b in zip(
      jax.tree_util.tree_leaves(new.ema_params), jax.tree_util.tree_leaves(new.g_params)))


def test_ema_follows_g_before_its_start_step_then_averages():
  # ema.start=10: the updates at steps 0..9 copy G (EMA == params after each), the update at
  # step 10 (the 11th) is the first to average.
  experiment = Experiment(ring8(**{"ema.decay": 0.5, "ema.start": 10}))
  state = experiment.init_state()
  iterator = experiment.train_iterator()
  for step in range(10):
    state, _ = run_steps(experiment, 1, state=state, iterator=iterator)
    now = host(state)
    assert int(now.step) == step + 1
    np.testing.assert_equal(now.ema_params, now.g_params)
  state, _ = run_steps(experiment, 1, state=state, iterator=iterator)
  after = host(state)
  expected = jax.tree_util.tree_map(lambda a, b: 0.5 * a + 0.5 * b, now.g_params,
                                    after.g_params)
  assert_trees_close(after.ema_params, expected, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Mixed precision.


def _all_eqns(jaxpr):
  """Equations of a jaxpr and of the jaxprs nested in it (custom_vjp calls, pjit, ...)."""
  for eqn in jaxpr.eqns:
    yield eqn
    for value in eqn.params.values():
      inner = getattr(value, "jaxpr", value)
      if hasattr(inner, "eqns"):
        yield from _all_eqns(inner)


def test_bfloat16_compute_runs_a_step_and_keeps_float32_params():
  config = dcgan_digits(**{"compute_dtype": "bfloat16", "ema.decay": 0.9})
  experiment = Experiment(config)
  g, d = experiment.nets.generator, experiment.nets.discriminator
  assert g.dtype == jnp.bfloat16 and d.dtype == jnp.bfloat16
  state = experiment.init_state()
  before = host(state)
  state, metrics = run_steps(experiment, 1, state=state)
  for name in ("g_params", "d_params", "ema_params", "g_opt_state", "d_opt_state", "g_state",
               "d_state"):
    for leaf in jax.tree_util.tree_leaves(getattr(state, name)):
      if jnp.issubdtype(leaf.dtype, jnp.floating):
        assert leaf.dtype == jnp.float32, name
  for k, v in metrics.items():
    assert np.isfinite(float(v)), k
  assert any(np.max(np.abs(a - b)) > 0 for a, b in zip(
      jax.tree_util.tree_leaves(before.g_params), jax.tree_util.tree_leaves(host(state.g_params))))
  # The convolutions really run in bfloat16, and G still hands back float32 images.
  z = experiment.nets.draw_z(jax.random.PRNGKey(0), 2)  # with InfoGAN's code where on
  variables = {"params": state.g_params, **state.g_state}
  apply = lambda v: g.apply(v, z, None, train=False)
  jaxpr = jax.make_jaxpr(apply)(variables)
  convs = [e for e in _all_eqns(jaxpr.jaxpr) if e.primitive.name == "conv_general_dilated"]
  assert convs and all(e.outvars[0].aval.dtype == jnp.bfloat16 for e in convs)
  assert jax.eval_shape(apply, variables).dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# Models. Structure and shapes are traced with jax.eval_shape (nothing is compiled).


def _call_order(module, x, **kwargs):
  """The class names of the submodules `module` calls, in call order (init + apply, traced)."""
  calls = []

  def interceptor(next_fun, args_, kwargs_, context):
    if context.method_name == "__call__" and type(context.module) is not type(module):
      calls.append(type(context.module).__name__)
    return next_fun(*args_, **kwargs_)

  variables = jax.eval_shape(lambda: module.init(jax.random.PRNGKey(0), x, None, **kwargs))
  with nn.intercept_methods(interceptor):
    jax.eval_shape(lambda v: module.apply(v, x, None, mutable=["batch_stats"], **kwargs),
                   variables)
  return calls


def test_dcgan_generator_has_batch_norm_on_every_hidden_layer_only():
  g = dcgan.DCGANGenerator(image_size=32, channels=1, base_features=4)
  calls = _call_order(g, jnp.ones((2, 8)), train=True)
  # projection, then 2 hidden fractionally-strided convs, each followed by BN; the output conv
  # (3 doublings: 4 -> 8 -> 16 -> 32) is not.
  assert calls == ["Dense", "BatchNorm", "FractionallyStridedConv", "BatchNorm",
                   "FractionallyStridedConv", "BatchNorm", "FractionallyStridedConv"]


def test_dcgan_discriminator_has_no_batch_norm_on_its_input_layer():
  d = dcgan.DCGANDiscriminator(base_features=4)
  calls = _call_order(d, jnp.ones((2, 32, 32, 1)), train=True)
  assert calls == ["Conv", "Conv", "BatchNorm", "Conv", "BatchNorm", "Dense"]


def test_dcgan_parameter_shapes_at_32x32():
  config = dcgan_digits(**{"data.image_size": 32, "generator.base_features": 8,
                           "discriminator.base_features": 8, "latent_dim": 16})
  info = DataInfo("digits", "images", (32, 32, 1), 10)
  g, d = dcgan.build(config, info)
  g_vars = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), jnp.zeros((2, 16)), None,
                                         train=True))
  d_vars = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(1), jnp.zeros((2, 32, 32, 1)), None,
                                         train=True))
  shapes = lambda tree: jax.tree_util.tree_map(lambda x: tuple(x.shape), tree)
  # G: z(16) -> 4x4x32 -> 8x8x16 -> 16x16x8 -> 32x32x1 (no bias before BN).
  assert shapes(g_vars["params"]) == {
      "Dense_0": {"kernel": (16, 4 * 4 * 32)},
      "BatchNorm_0": {"scale": (32,), "bias": (32,)},
      "FractionallyStridedConv_0": {"kernel": (4, 4, 32, 16)},
      "BatchNorm_1": {"scale": (16,), "bias": (16,)},
      "FractionallyStridedConv_1": {"kernel": (4, 4, 16, 8)},
      "BatchNorm_2": {"scale": (8,), "bias": (8,)},
      "FractionallyStridedConv_2": {"kernel": (4, 4, 8, 1), "bias": (1,)},
  }
  assert shapes(g_vars["batch_stats"]) == {
      f"BatchNorm_{i}": {"mean": (f,), "var": (f,)} for i, f in enumerate((32, 16, 8))}
  # D: 32x32x1 -> 16x16x8 -> 8x8x16 -> 4x4x32 -> one logit.
  assert shapes(d_vars["params"]) == {
      "Conv_0": {"kernel": (4, 4, 1, 8), "bias": (8,)},
      "Conv_1": {"kernel": (4, 4, 8, 16)},
      "BatchNorm_0": {"scale": (16,), "bias": (16,)},
      "Conv_2": {"kernel": (4, 4, 16, 32)},
      "BatchNorm_1": {"scale": (32,), "bias": (32,)},
      "Dense_0": {"kernel": (4 * 4 * 32, 1), "bias": (1,)},
  }
  samples = jax.eval_shape(lambda v: g.apply(v, jnp.zeros((3, 16)), None, train=False), g_vars)
  assert samples.shape == (3, 32, 32, 1) and samples.dtype == jnp.float32
  logits = jax.eval_shape(lambda v, x: d.apply(v, x, None, train=False), d_vars, samples)
  assert logits.shape == (3,)


def test_dcgan_generator_output_is_in_tanh_range():
  g = dcgan.DCGANGenerator(image_size=16, channels=3, base_features=4)
  z = 1000.0 * jax.random.normal(jax.random.PRNGKey(0), (8, 8))
  variables = jax.jit(lambda: g.init(jax.random.PRNGKey(1), z, None, train=True))()
  # Scale up the output kernel so the pre-tanh values are large: the output must saturate
  # within [-1, 1] and reach close to both ends.
  params = dict(variables["params"])
  params["FractionallyStridedConv_1"] = {
      **params["FractionallyStridedConv_1"],
      "kernel": params["FractionallyStridedConv_1"]["kernel"] * 1e4}
  out = jax.jit(lambda v: g.apply(v, z, None, train=False))({**variables, "params": params})
  assert out.shape == (8, 16, 16, 3)
  assert float(out.min()) >= -1.0 and float(out.max()) <= 1.0
  assert float(out.min()) < -0.99 and float(out.max()) > 0.99


def test_fractionally_strided_conv_equals_flax_conv_transpose():
  shape, cout = (2, 3, 5, 2), 4  # non-square input, channels in != out
  kx, kk, kb, kc = jax.random.split(jax.random.PRNGKey(0), 4)
  x = jax.random.normal(kx, shape)
  params = {"kernel": jax.random.normal(kk, (4, 4, shape[-1], cout)),
            "bias": jax.random.normal(kb, (cout,))}
  ours = FractionallyStridedConv(cout)
  theirs = nn.ConvTranspose(cout, (4, 4), strides=(2, 2), padding="SAME")
  # Same parameter layout as flax's.
  shapes = lambda m: jax.tree_util.tree_map(
      jnp.shape, jax.eval_shape(lambda: m.init(kc, x))["params"])
  assert shapes(ours) == shapes(theirs) == {"kernel": (4, 4, 2, 4), "bias": (4,)}

  # Values, and gradients with respect to the input and both parameters under a non-uniform
  # loss, in one compiled function per module.
  weights = jax.random.normal(kc, (2, 6, 10, cout))

  def value_and_grads(module):
    f = lambda p, x: module.apply({"params": p}, x)
    loss = lambda p, x: jnp.sum(weights * f(p, x))
    return jax.jit(lambda p, x: (f(p, x), jax.grad(loss, argnums=(0, 1))(p, x)))(params, x)

  y_ours, g_ours = value_and_grads(ours)
  y_theirs, g_theirs = value_and_grads(theirs)
  assert y_ours.shape == (2, 6, 10, cout)
  np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-5)
  assert_trees_close(g_ours, g_theirs, rtol=1e-4, atol=1e-4)


def test_cgan_generator_output_depends_on_the_label():
  g = cgan.ConditionalMLPGenerator(out_shape=(4, 4, 1), num_classes=10, z_hidden=8,
                                   label_hidden=8, joint_hidden=(16,))
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 6))
  variables = jax.jit(lambda: g.init(jax.random.PRNGKey(1), z, jnp.zeros(4, jnp.int32)))()
  apply = jax.jit(lambda y: g.apply(variables, z, y))
  out0 = apply(jnp.zeros(4, jnp.int32))
  out3 = apply(jnp.full(4, 3, jnp.int32))
  assert out0.shape == (4, 4, 4, 1)
  np.testing.assert_array_equal(out3, apply(jnp.full(4, 3, jnp.int32)))
  # Every example changes with its label.
  per_example = np.max(np.abs(np.asarray(out0 - out3)).reshape(4, -1), axis=1)
  assert np.all(per_example > 1e-4)


def test_cgan_discriminator_output_depends_on_the_label():
  d = cgan.ConditionalMLPDiscriminator(num_classes=10, x_hidden=8, label_hidden=4,
                                       joint_hidden=(8,), maxout_pieces=2, dropout=0.5)
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 4, 4, 1))
  variables = jax.jit(lambda: d.init({"params": jax.random.PRNGKey(1),
                                      "dropout": jax.random.PRNGKey(2)},
                                     x, jnp.zeros(4, jnp.int32), train=False))()
  apply = jax.jit(lambda y: d.apply(variables, x, y, train=False))
  l0 = apply(jnp.zeros(4, jnp.int32))
  l7 = apply(jnp.full(4, 7, jnp.int32))
  assert l0.shape == (4,)
  assert np.all(np.abs(np.asarray(l0 - l7)) > 1e-6)


def test_dcgan_standing_statistics_are_the_mean_of_the_ema_generators_batches():
  """With an EMA of a DCGAN G, sampling can use standing statistics (bn_momentum knob)."""
  config = dcgan_digits(**{"ema.decay": 0.9, "standing_stats": 3})
  experiment = Experiment(config)
  trainer = experiment.trainer
  state, _ = run_steps(experiment, 2)
  standing = trainer.standing_g_state(state)
  generator = experiment.nets.generator
  keys = jax.random.split(jax.random.PRNGKey(adversarial.STANDING_KEY), 3)
  means = []
  for k in keys:
    z, _ = trainer.latents(jax.random.split(k)[0], config.batch_size)
    _, updates = generator.clone(bn_momentum=0.0).apply(
        {"params": state.ema_params, **state.g_state}, z, train=True, mutable=["batch_stats"])
    means.append(jax.tree_util.tree_map(np.asarray, updates["batch_stats"]))
  expected = jax.tree_util.tree_map(lambda *xs: np.mean(xs, axis=0), *means)
  assert_trees_close(standing["batch_stats"], expected, rtol=1e-4, atol=1e-6)
  assert not np.allclose(jax.tree_util.tree_leaves(standing["batch_stats"])[0],
                         jax.tree_util.tree_leaves(state.g_state["batch_stats"])[0])
  # momentum 0 stores the batch's own mean: the first BN's mean is that of G's projection.
  z, _ = trainer.latents(jax.random.PRNGKey(1), 16)
  _, updates = generator.clone(bn_momentum=0.0).apply(
      {"params": state.g_params, **state.g_state}, z, train=True, mutable=["batch_stats"])
  projected = np.asarray(z) @ np.asarray(state.g_params["Dense_0"]["kernel"])
  np.testing.assert_allclose(updates["batch_stats"]["BatchNorm_0"]["mean"],
                             projected.reshape(16, 4, 4, -1).mean(axis=(0, 1, 2)), rtol=1e-4,
                             atol=1e-5)


def test_ema_rampup_shortens_the_half_life_to_images_seen_times_rampup():
  # StyleGAN2-ADA's ramp: beta = 0.5 ** (batch / min(half-life, images seen x rampup)), the
  # half-life in images being that of `decay` (10 kimg at batch 32). Catches a ramp that is
  # ignored (step 100), one not capped at the configured half-life (step 10000), and one
  # counting steps instead of images.
  @flax.struct.dataclass
  class Params:
    step: jax.Array
    ema_params: jax.Array
    g_params: jax.Array

  decay = 0.5 ** (32 / 10000)
  run = phases_lib.ema_phase(decay, 0, rampup=0.05, batch_size=32).run
  for step, beta in [(0, 0.0), (100, 0.5 ** (32 / (100 * 32 * 0.05))), (10000, decay)]:
    state = Params(jnp.asarray(step, jnp.int32), jnp.ones(()), jnp.zeros(()))
    out, _, _ = run(state, {}, None)
    np.testing.assert_allclose(float(out.ema_params), beta, rtol=1e-5, atol=1e-7)
