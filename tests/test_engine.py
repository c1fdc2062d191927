"""The engine's pieces: phases and their intervals, the critic schedule, penalty terms, the
evaluators a config declares, backend-aware layers, and the trainer contract."""

from __future__ import annotations

import inspect
import os
import typing

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import losses
from jaxgan.config import optimizer_config
from jaxgan.errors import JaxganError
from jaxgan.nn import backend
from jaxgan.nn.padded_conv import Conv, TransposedConv2x, UpsampleConv
from jaxgan.nn.transposed_conv import FractionallyStridedConv
from jaxgan.train import adversarial, parallel, phases, terms
from jaxgan.train.checkpoints import Checkpointer
from jaxgan.train.contract import Trainer
from jaxgan.train.experiment import TRAINERS, Experiment
from jaxgan.train.state import TrainState
from tests.test_step import dcgan_digits, host, ring8

# ---------------------------------------------------------------- phases


def _counting_state():
  return TrainState(step=jnp.zeros((), jnp.int32), g_params={}, d_params={}, g_state={},
                    d_state={}, g_opt_state=(), d_opt_state=(), ema_params=None,
                    rng=jax.random.PRNGKey(0), extra={"ran": jnp.zeros(12, jnp.int32)})


def test_a_phase_with_interval_k_runs_exactly_at_iterations_divisible_by_k():
  def mark(state, inputs, key):
    del inputs, key
    return state.replace(extra={"ran": state.extra["ran"].at[state.step].add(1)}), {}, {}

  steps = [phases.Phase("every", mark), phases.Phase("third", mark, every=3)]
  state = _counting_state()
  compiled = {}
  for iteration in range(12):
    variant = phases.variant_at(steps, iteration, 1)
    if variant not in compiled:
      compiled[variant] = jax.jit(phases.compose_step(steps, variant, num_keys=1))
    state, _ = compiled[variant](state, {"x": jnp.zeros((1, 2))})
  ran = np.asarray(state.extra["ran"])
  np.testing.assert_array_equal(ran, [2 if i % 3 == 0 else 1 for i in range(12)])
  assert len(compiled) == 2  # one compiled step per distinct variant, not per step
  assert int(state.step) == 12


def test_the_step_key_of_a_phase_does_not_depend_on_which_others_are_due():
  def record(field):
    def run(state, inputs, key):
      del inputs
      return state.replace(extra={**state.extra, field: key}), {}, {}
    return run

  steps = [phases.Phase("main", record("main"), key_slot=0),
           phases.Phase("lazy", record("lazy"), every=2, key_slot=1)]
  start = _counting_state()
  start = start.replace(extra={"main": jnp.zeros(2, jnp.uint32),
                               "lazy": jnp.zeros(2, jnp.uint32)})
  keys = []
  for iteration in (0, 1):  # both phases due, then only the main one
    variant = phases.variant_at(steps, iteration, 1)
    out, _ = phases.compose_step(steps, variant, 2)(start, {"x": jnp.zeros((1, 1))})
    keys.append(np.asarray(out.extra["main"]))
  np.testing.assert_array_equal(keys[0], keys[1])
  assert np.any(keys[0] != 0)


def test_a_repeated_phase_runs_once_per_real_batch_scanned_when_long():
  def add(state, inputs, key):
    del key
    total = state.extra["ran"].at[0].add(jnp.sum(inputs["x"]).astype(jnp.int32))
    return state.replace(extra={"ran": total}), {"seen": jnp.sum(inputs["x"])}, {}

  steps = [phases.Phase("critic", add, repeated=True, key_slot=0)]
  for count in (3, phases.MAX_UNROLLED_REPEATS + 4):  # unrolled, then a lax.scan
    batch = {"x": jnp.arange(count, dtype=jnp.float32)[:, None]}
    variant = phases.Variant(count, ("critic",))
    state, metrics = jax.jit(phases.compose_step(steps, variant, 1))(_counting_state(), batch)
    assert int(state.extra["ran"][0]) == sum(range(count))
    assert float(metrics["seen"]) == pytest.approx(np.mean(np.arange(count)))


def test_a_chunked_step_equals_the_composed_step():
  """WGAN's 100 critic updates run as jitted chunks from Python (a lax.scan is ~11x slower on
  the CPU): same batches, keys, order and later phases as compose_step's step."""
  def critic(state, inputs, key):
    noise = jax.random.uniform(key, ())
    ran = state.extra["ran"]
    # Order-dependent: a chunk run out of order or on the wrong batch slice changes it.
    ran = ran.at[0].set(ran[0] * 3 + inputs["x"][0].astype(jnp.int32))
    return (state.replace(extra={**state.extra, "ran": ran, "noise": state.extra["noise"] + noise}),
            {"seen": inputs["x"][0]}, {})

  def generator(state, inputs, key):
    ran = state.extra["ran"].at[1].set(inputs["x"][0].astype(jnp.int32))  # the last batch
    return state.replace(extra={**state.extra, "ran": ran, "g_key": key}), {"g": 1.0}, {}

  steps = [phases.Phase("critic", critic, repeated=True, key_slot=0),
           phases.Phase("generator", generator, key_slot=1)]
  mesh = parallel.make_mesh()
  shardings = (parallel.replicated(mesh), parallel.batch_sharded(mesh, leading_unsharded=1),
               parallel.replicated(mesh))
  for count in (phases.MAX_UNROLLED_REPEATS + 4, 11):  # chunks of 6; a prime count, chunks of 1
    start = _counting_state().replace(extra={"ran": jnp.zeros(12, jnp.int32),
                                             "noise": jnp.zeros(()),
                                             "g_key": jnp.zeros(2, jnp.uint32)})
    batch = {"x": (jnp.arange(count, dtype=jnp.float32) + 1)[:, None]}
    variant = phases.Variant(count, ("critic", "generator"))
    want, want_metrics = jax.jit(phases.compose_step(steps, variant, 2))(start, batch)
    chunked = phases.ChunkedStep(steps, variant, 2, *shardings)
    assert chunked.chunk == {12: 6, 11: 1}[count]
    got, metrics = chunked(start, batch)
    np.testing.assert_array_equal(got.extra["ran"], want.extra["ran"])
    np.testing.assert_array_equal(got.extra["g_key"], want.extra["g_key"])
    np.testing.assert_allclose(got.extra["noise"], want.extra["noise"], rtol=1e-6)
    np.testing.assert_array_equal(got.rng, want.rng)
    assert int(got.step) == 1
    assert float(metrics["seen"]) == pytest.approx(float(want_metrics["seen"]))
    assert float(metrics["g"]) == 1.0


def test_a_segmented_step_equals_the_composed_step_and_shares_its_segments():
  """With lazy phases every variant runs as jitted segments (a run of always-due phases, each
  lazy phase alone) shared by the variants: same keys, order, outputs and state as compose_step,
  and StyleGAN2's plain and lazy variants compile the always-due phases once."""
  def order(tag, slot_field=None):
    def run(state, inputs, key):
      ran = state.extra["ran"]
      ran = ran.at[0].set(ran[0] * 5 + tag)  # order-dependent
      extra = {**state.extra, "ran": ran}
      if slot_field:
        extra[slot_field] = key
      return state.replace(extra=extra), {tag_name[tag]: inputs["x"][0] + tag}, {}
    return run

  def main(state, inputs, key):  # hands an output to a later segment
    state, metrics, _ = order(1, "main_key")(state, inputs, key)
    return state, metrics, {"fake": inputs["x"] * 2 + jax.random.uniform(key, ())}

  def reads_output(state, inputs, key):
    state, metrics, _ = order(2, "lazy_key")(state, inputs, key)
    return state.replace(extra={**state.extra, "seen": state.extra["seen"] + inputs["fake"][0]}), \
        metrics, {}

  tag_name = {1: "main", 2: "lazy", 3: "tail"}
  steps = [phases.Phase("main", main, key_slot=0),
           phases.Phase("lazy", reads_output, every=2, key_slot=1),
           phases.Phase("tail", order(3))]
  assert phases.segments_of(steps) == [("main",), ("lazy",), ("tail",)]
  mesh = parallel.make_mesh()
  cache = {}

  def segment_fn(names, real_batches):
    if (names, real_batches) not in cache:
      cache[names, real_batches] = jax.jit(phases.segment_step(steps, names, real_batches))
    return cache[names, real_batches]

  batch = {"x": jnp.full((1, 2), 3.0)}
  for iteration in (0, 1):  # the lazy phase due, then not
    start = _counting_state().replace(extra={"ran": jnp.zeros(12, jnp.int32),
                                             "seen": jnp.zeros(()),
                                             "main_key": jnp.zeros(2, jnp.uint32),
                                             "lazy_key": jnp.zeros(2, jnp.uint32)})
    variant = phases.variant_at(steps, iteration, 1)
    want, want_metrics = jax.jit(phases.compose_step(steps, variant, 2))(start, batch)
    got, metrics = phases.SegmentedStep(steps, variant, 2, segment_fn, parallel.replicated(mesh),
                                        parallel.replicated(mesh))(start, batch)
    for field in ("ran", "seen", "main_key", "lazy_key"):
      np.testing.assert_array_equal(got.extra[field], want.extra[field])
    np.testing.assert_array_equal(got.rng, want.rng)
    assert int(got.step) == 1
    assert {k: float(v) for k, v in metrics.items()} == {k: float(v) for k, v in
                                                         want_metrics.items()}
  assert int(want.extra["ran"][0]) == 1 * 5 + 3  # iteration 1: main, tail
  assert sorted(cache) == [(("lazy",), 1), (("main",), 1), (("tail",), 1)]  # shared


# ---------------------------------------------------------------- the critic schedule


def _d_updates(state) -> int:
  counts = {int(leaf) for path, leaf in jax.tree_util.tree_flatten_with_path(state.d_opt_state)[0]
            if "count" in jax.tree_util.keystr(path)}
  assert len(counts) == 1
  return counts.pop()


def test_wgan_critic_schedule_counts_over_the_first_30_steps_and_at_500():
  config = ring8(n_critic=5, batch_size=8, **{"critic_boost.iterations": 100,
                                              "critic_boost.first": 25,
                                              "critic_boost.every": 500})
  experiment = Experiment(config)
  iterator = experiment.train_iterator()
  state = experiment.init_state()
  per_step = []
  for i in range(30):
    before = _d_updates(state)
    state, _ = experiment.step_fn(i)(state, experiment.next_batch(iterator, i))
    per_step.append(_d_updates(state) - before)
  assert per_step == [100] * 25 + [5] * 5
  # Every critic update read its own real batch: 25 * 100 + 5 * 5 batches consumed.
  assert iterator.get_state()["next_index"] == 2525
  assert [experiment.trainer.real_batches(i) for i in (499, 500, 501, 1000)] == [5, 100, 5, 100]
  state = state.replace(step=jnp.asarray(500, jnp.int32))
  before = _d_updates(state)
  state, _ = experiment.step_fn(500)(state, experiment.next_batch(iterator, 500))
  assert _d_updates(state) - before == 100
  assert len(experiment._steps) == 2  # pylint: disable=protected-access


# ---------------------------------------------------------------- penalty terms


def test_lazy_r1_runs_on_its_interval_with_its_weight_times_the_interval():
  config = ring8(**{"d_terms.r1": {"weight": 0.5, "every": 4}})
  with config.unlocked():
    config.optimizer.d = optimizer_config("sgd", lr=1.0)
  experiment = Experiment(config)
  names = [p.name for p in experiment.phases]
  assert names == ["critic", "generator", "d_reg_4"]
  reg = experiment.phases[2]
  assert [reg.due(i) for i in range(9)] == [i % 4 == 0 for i in range(9)]

  state = experiment.init_state()
  real = jax.random.normal(jax.random.PRNGKey(3), (16, 2))
  key = jax.random.PRNGKey(5)
  new, metrics, _ = jax.jit(reg.run)(state, {"x": real}, key)
  # The phase's D update by hand: SGD on 4 * 0.5 * R1, R1 = E|grad_x D(x)|^2 on the reals, at
  # lr 1 * 4/5 (a lazy interval k scales its network's rate by k/(k+1), as StyleGAN2's code).
  nets = experiment.nets
  micro_key = jax.random.split(key, 1)[0]
  term_key = jax.random.split(micro_key, 3)[2]

  def r1(d_params):
    d_fn = lambda x: nets.discriminate(d_params, state.d_state, x, None, term_key)[0]
    return losses.r1_penalty(d_fn, real)

  grads = jax.grad(r1)(state.d_params)
  expected = jax.tree_util.tree_map(lambda p, g: p - 0.8 * 4 * 0.5 * g, state.d_params, grads)
  for a, b in zip(jax.tree_util.tree_leaves(host(new.d_params)),
                  jax.tree_util.tree_leaves(host(expected))):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  assert float(metrics["r1"]) == pytest.approx(float(r1(state.d_params)), rel=1e-5)
  assert max(float(jnp.max(jnp.abs(g))) for g in jax.tree_util.tree_leaves(grads)) > 1e-4
  # G was left alone by the D regulariser.
  for a, b in zip(jax.tree_util.tree_leaves(host(new.g_params)),
                  jax.tree_util.tree_leaves(host(state.g_params))):
    np.testing.assert_array_equal(a, b)


def test_a_term_every_step_joins_the_main_loss_unscaled():
  lazy = Experiment(ring8(**{"d_terms.r1": {"weight": 0.5, "every": 1}}))
  assert [p.name for p in lazy.phases] == ["critic", "generator"]
  _, metrics = lazy.step_fn(0)(lazy.init_state(), lazy.next_batch(lazy.train_iterator()))
  assert "r1" in metrics


def test_a_gradient_penalty_on_a_batch_norm_critic_is_a_config_error():
  config = dcgan_digits(**{"data.image_size": 16, "d_terms.gradient_penalty": {"weight": 10.0}})
  with pytest.raises(JaxganError, match="batch norm"):
    Experiment(config)


@pytest.mark.parametrize("spec, match", [
    ({"bogus": {"weight": 1.0}}, "unknown d_terms.bogus"),
    ({"r1": {"weight": -1.0}}, "weight must be >= 0"),
    ({"r1": {"weight": 1.0, "every": 0}}, "every must be >= 1"),
    ({"r1": {"weight": 1.0, "gamma": 2}}, "unknown keys"),
])
def test_bad_terms_are_one_line_errors(spec, match):
  with pytest.raises(JaxganError, match=match) as info:
    terms.active_terms(spec, terms.D_TERMS, "d")
  assert "\n" not in str(info.value)


# ---------------------------------------------------------------- evaluators


@pytest.mark.parametrize("evals, match", [
    ({"x": {"type": "bogus"}}, "unknown type"),
    ({"translation": {}}, "needs generated targets"),
    ({"modes": {}}, "needs a 2-D mixture"),
    ({"digits": {"every": -1}}, "every must be >= 0"),
    ({"digits": {"often": 3}}, "unknown keys"),
])
def test_evaluators_the_run_cannot_serve_are_config_errors(evals, match):
  config = dcgan_digits()
  with config.unlocked():
    config.evals = evals
  with pytest.raises(JaxganError, match=match):
    Experiment(config)


def test_evaluator_scores_are_prefixed_unless_named_by_their_type():
  config = ring8()
  with config.unlocked():
    config.evals = {"modes": {}, "late": {"type": "modes", "num_samples": 300}}
  experiment = Experiment(config)
  scores = experiment.evaluate(experiment.init_state())
  assert {"modes_covered", "late/modes_covered"} <= set(scores)


# ---------------------------------------------------------------- keeping the best checkpoint


class _Iterator:
  def get_state(self):
    return {"next_index": 0}


def test_keep_best_keeps_the_best_scored_checkpoint_besides_the_newest(tmp_path):
  checkpointer = Checkpointer(str(tmp_path), keep=2, keep_best="fd", keep_best_mode="min")
  state = {"w": jnp.ones(3)}
  for step, fd in zip(range(1, 7), [5.0, 1.0, 3.0, 4.0, 2.0, 6.0]):
    checkpointer.record_scores(step, {"fd": fd, "kid": 0.0})
    checkpointer.save(step, state, _Iterator())
  assert checkpointer.all_steps() == [2, 5, 6]
  assert checkpointer.best_step() == 2
  checkpointer.close()
  maximise = Checkpointer(str(tmp_path / "m"), keep=1, keep_best="is", keep_best_mode="max")
  for step, score in zip(range(1, 4), [1.0, 9.0, 2.0]):
    maximise.record_scores(step, {"is": score})
    maximise.save(step, state, _Iterator())
  assert maximise.all_steps() == [2, 3]
  maximise.close()


# ---------------------------------------------------------------- backend-aware layers


@pytest.fixture
def conv_impl():
  yield backend.set_conv_impl
  backend.set_conv_impl("auto")


def _both_paths(module, x, set_impl):
  """(outputs, input gradients, parameter gradients) with the CPU workarounds and with XLA's
  own convolutions, same parameters."""
  params = module.init(jax.random.PRNGKey(0), x)
  results = []
  for impl in ("cpu_workarounds", "xla"):
    set_impl(impl)
    loss = lambda p, x: jnp.sum(jnp.sin(module.apply(p, x)))
    out = module.apply(params, x)
    grads = jax.grad(loss, argnums=(0, 1))(params, x)
    results.append((out, grads))
  return results


@pytest.mark.parametrize("module, shape", [
    (TransposedConv2x(5, kernel_size=3, padding=(1, 2)), (2, 4, 4, 3)),
    (TransposedConv2x(4, kernel_size=4, padding=(2, 2)), (2, 3, 3, 2)),
    (Conv(6, 3, strides=2), (2, 6, 6, 3)),
    (FractionallyStridedConv(4), (2, 4, 4, 3)),
    (UpsampleConv(5), (2, 3, 4, 2)),  # StackGAN's nearest x2 + 3x3 conv, as four 2x2 phases
])
def test_cpu_workarounds_and_xla_convolutions_are_the_same_function(module, shape, conv_impl):
  x = jax.random.normal(jax.random.PRNGKey(1), shape)
  (out_a, grads_a), (out_b, grads_b) = _both_paths(module, x, conv_impl)
  np.testing.assert_allclose(out_a, out_b, rtol=1e-5, atol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(grads_a), jax.tree_util.tree_leaves(grads_b)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_auto_uses_the_workarounds_on_cpu_only(conv_impl):
  conv_impl("auto")
  assert backend.use_cpu_workarounds() == (jax.default_backend() == "cpu")
  conv_impl("xla")
  assert not backend.use_cpu_workarounds()
  with pytest.raises(ValueError):
    conv_impl("fast")


# ---------------------------------------------------------------- the trainer contract


def _protocol_members():
  members = {}
  for name, value in vars(Trainer).items():
    if name.startswith("_") or name in ("_is_protocol",):
      continue
    if callable(value):
      members[name] = inspect.signature(value)
  annotations = typing.get_type_hints(Trainer)
  return members, set(annotations)


def contract_violations(cls) -> list[str]:
  """What a trainer class lacks of the contract, checked on the class without building it:
  every method the contract names exists with the contract's parameters, every class-level
  attribute is set, every instance attribute is assigned in an __init__ (read from source)."""
  methods, attributes = _protocol_members()
  problems = []
  for method, signature in methods.items():
    value = getattr(cls, method, None)
    if not callable(value):
      problems.append(f"no method {method}")
      continue
    got = list(inspect.signature(value).parameters)
    if got != list(signature.parameters):
      problems.append(f"{method}{tuple(got)} is not {method}{tuple(signature.parameters)}")
  init_source = "".join(inspect.getsource(k.__init__) for k in cls.__mro__
                        if "__init__" in vars(k) and k is not object)
  for attribute in attributes:
    if attribute not in dir(cls) and f"self.{attribute}" not in init_source:
      problems.append(f"never sets {attribute}")
  return problems


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_every_trainer_satisfies_the_contract_statically(name):
  cls = TRAINERS[name]
  assert contract_violations(cls) == []
  assert isinstance(cls.pairing, str) and isinstance(cls.supports_truncation, bool)
  assert isinstance(cls.num_keys, int) and cls.num_keys >= 1


def test_the_contract_check_catches_missing_and_misshapen_methods():
  methods, attributes = _protocol_members()
  assert {"init_state", "phases", "generate_outputs", "sample_grid"} <= set(methods)
  assert {"pairing", "supports_truncation", "num_keys", "config", "info"} <= attributes

  class NoGrid(TRAINERS["adversarial"]):
    sample_grid = None

  class OddSignature(TRAINERS["adversarial"]):
    def generate_outputs(self, state, num):  # pylint: disable=arguments-differ
      return {}

  assert contract_violations(NoGrid) == ["no method sample_grid"]
  assert len(contract_violations(OddSignature)) == 1


# ---------------------------------------------------------------- network noise on any mesh

_NOISE_SCRIPT = """
import sys
import jax, jax.numpy as jnp, numpy as np
import flax.linen as nn
sys.path.insert(0, {repo!r})
from jaxgan.train import parallel
from jaxgan.train.networks import apply_net

class Noisy(nn.Module):
  @nn.compact
  def __call__(self, x, train=True):
    # per-layer noise and dropout, as StyleGAN's noise inputs and pix2pix's dropout draw them
    noise = jax.random.normal(self.make_rng("noise"), x.shape)
    return nn.Dropout(0.5, deterministic=not train)(x + noise)

mesh = parallel.make_mesh()
x = jax.device_put(jnp.ones((16, 4)), parallel.batch_sharded(mesh))
fn = jax.jit(lambda x, key: apply_net(Noisy(), {{}}, {{}}, x, train=True, key=key)[0],
             out_shardings=parallel.batch_sharded(mesh))
out = fn(x, jax.random.PRNGKey(3))
assert len(out.addressable_shards) == len(jax.devices())
np.save(sys.argv[1], np.asarray(out))
"""


def test_network_noise_is_the_same_on_8_devices_as_on_1(tmp_path):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  script = tmp_path / "noise.py"
  script.write_text(_NOISE_SCRIPT.format(repo=os.path.dirname(os.path.dirname(
      os.path.abspath(__file__)))))
  outs = {}
  for n in (1, 8):
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=(os.environ.get("XLA_FLAGS", "")
                          + f" --xla_force_host_platform_device_count={n}"))
    subprocess.run([sys.executable, str(script), str(tmp_path / f"{n}.npy")], check=True,
                   env=env)
    outs[n] = np.load(tmp_path / f"{n}.npy")
  assert np.std(outs[1]) > 0.5 and np.mean(outs[1] == 0) > 0.2  # noise and dropout both drew
  np.testing.assert_array_equal(outs[1], outs[8])


# ---------------------------------------------------------------- the Inception evaluator


def test_inception_evaluator_scores_a_run_and_needs_its_weights(tmp_path, monkeypatch):
  """Declared in the config like any evaluator: scores generated samples against the data set
  with pytorch-fid's network (seeded stand-in weights here: the real ones are never
  downloaded), and refuses to start without a weights file."""
  from jaxgan.metrics import inception_weights  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
  monkeypatch.delenv("JAXGAN_INCEPTION_WEIGHTS", raising=False)
  config = dcgan_digits(**{"evals": {"inception": {"metrics": "fid,is", "reference_num": 24}},
                           "eval.batch_size": 8})
  with pytest.raises(JaxganError, match="inception") as info:
    Experiment(config)
  assert "\n" not in str(info.value)
  weights = tmp_path / "seeded.npz"
  np.savez(weights, **inception_weights.state_dict_to_flat(inception_weights.random_state_dict(0)))
  with config.unlocked():
    config.eval.inception_weights = str(weights)
  experiment = Experiment(config)
  scores = experiment.evaluate(experiment.init_state(), num_samples=16)
  assert scores["n_fake"] == 16 and scores["n_real"] == 24
  assert np.isfinite(scores["fid"]) and scores["fid"] > 0 and scores["is"] >= 1.0
  assert list((tmp_path / "cache" / "inception_stats").glob("*.npz"))  # real statistics cached
