"""ProGAN's growing trainer: the schedule of resolution and alpha, one compiled step per stage,
exact resume inside a fade-in after a resolution change, `jaxgan sample` at the resolution."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxgan import cli
from jaxgan.config import load_config_file
from jaxgan.errors import JaxganError
from jaxgan.train.loop import train_and_evaluate
from jaxgan.train.progan import Growth, growth_of

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_alpha_and_stage_move_as_scheduled():
  g = Growth(num_stages=3, fade_images=40, stable_images=20, batches=(1, 1, 1))  # 4, 8, 16
  expected = {0: (0, 1.0), 19: (0, 1.0), 20: (1, 0.0), 30: (1, 0.25), 59: (1, 39 / 40),
              60: (1, 1.0), 79: (1, 1.0), 80: (2, 0.0), 100: (2, 0.5), 120: (2, 1.0),
              10_000: (2, 1.0)}
  for step, (stage, alpha) in expected.items():
    assert g.at(step) == (stage, pytest.approx(alpha)), step
    traced_stage, traced_alpha = jax.jit(g.at_traced)(jnp.int32(step))
    assert (int(traced_stage), float(traced_alpha)) == g.at(step), step  # exactly
  for step in range(0, 200, 3):
    traced_stage, traced_alpha = g.at_traced(jnp.int32(step))
    assert (int(traced_stage), float(traced_alpha)) == g.at(step), step
  assert Growth(1, 10, 10, (4,)).at(1000) == (0, 1.0)
  config = ml_collections.ConfigDict(dict(batch_size=8,
                                          growth=dict(fade_kimg=0.6, stable_kimg=0.6)))
  assert growth_of(config, 32) == Growth(4, 600, 600, (8, 8, 8, 8))
  with pytest.raises(JaxganError, match="power-of-2"):
    growth_of(config, 24)


def test_a_smaller_batch_at_high_resolution_stretches_its_stage_in_steps():
  # 4x4 at batch 8: 20 images = 3 steps (the last one overshoots); 8x8 at batch 2: 40 images
  # of fade-in (20 steps, alpha moving by 2/40 a step) and 20 stable (10 steps); then 16x16.
  g = Growth(num_stages=3, fade_images=40, stable_images=20, batches=(8, 2, 4))
  assert g.starts == (0, 3, 33)
  expected = {2: (0, 1.0), 3: (1, 0.0), 4: (1, 0.05), 13: (1, 0.5), 23: (1, 1.0),
              32: (1, 1.0), 33: (2, 0.0), 38: (2, 0.5), 43: (2, 1.0)}
  for step, (stage, alpha) in expected.items():
    assert g.at(step) == (stage, pytest.approx(alpha)), step
    traced_stage, traced_alpha = jax.jit(g.at_traced)(jnp.int32(step))
    assert (int(traced_stage), float(traced_alpha)) == g.at(step), step
  config = ml_collections.ConfigDict(dict(batch_size=8, growth=dict(
      fade_kimg=0.04, stable_kimg=0.02, batch_sizes=(8, 2, 4))))
  assert growth_of(config, 16) == g
  config.growth.batch_sizes = (8, 2)
  with pytest.raises(JaxganError, match="one batch size per stage"):
    growth_of(config, 16)
  config.growth.batch_sizes = (8, 16, 4)
  with pytest.raises(JaxganError, match="exceed batch_size 8"):
    growth_of(config, 16)


def tiny_progan(steps: int):
  config = load_config_file(os.path.join(REPO, "configs", "progan_digits.py"))
  settings = {
      "steps": steps, "batch_size": 8, "latent_dim": 8, "data.image_size": 8,
      "generator.fmap_base": 16, "generator.fmap_max": 8, "discriminator.fmap_base": 16,
      "discriminator.fmap_max": 8, "growth.stable_kimg": 0.016, "growth.fade_kimg": 0.016,
      "ema.decay": 0.9, "checkpoint_every": 3, "sample_every": 0, "log_every": 1,
      "sample_grid": 2, "eval.batch_size": 4}
  with config.unlocked():
    for key, value in settings.items():
      *parents, leaf = key.split(".")
      node = config
      for p in parents:
        node = node[p]
      node[leaf] = value
    config.evals = ml_collections.ConfigDict()
    for side in ("g", "d"):  # a rate halved every 2 steps: its count must survive Adam's resets
      config.optimizer[side].update(lr_decay="step", decay_every=2, decay_factor=0.5)
    # 8 at 4x4, 4 at 8x8: every test here compiles the same stage programs, which the tests'
    # compilation cache then serves.
    config.growth.batch_sizes = (8, 4)
  return config


def test_one_variant_per_stage():
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  experiment = Experiment(tiny_progan(6))
  trainer = experiment.trainer
  variants = [trainer.step_variant(experiment.phases, i) for i in range(8)]
  assert [v.phases for v in variants[:3]] == [
      ("critic@r4", "generator@r4", "ema", "growth")] * 2 + [
      ("critic@r8", "generator@r8", "ema", "growth")]
  assert len(set(variants)) == 2


def host(state):
  return jax.tree_util.tree_map(np.asarray, jax.device_get(state))


def test_resume_inside_a_fade_in_after_a_resolution_change_is_exact(tmp_path, capsys):
  """Per-stage batch sizes (8 at 4x4, 4 at 8x8; 16 images a phase): iterations 0-1 at 4x4,
  2-5 fading 8x8 in (alpha 0, 1/4, 1/2, 3/4: 16 images at batch 4), 6 stable. The first run
  crosses the change and stops inside the fade-in (its last checkpoint after 4 iterations:
  alpha 1/2 next); the resumed run must match an uninterrupted one bit for bit. One test, since
  each training costs its tracing: the schedule and the resume are checked on the same runs."""
  straight = host(train_and_evaluate(tiny_progan(7), str(tmp_path / "a"), tensorboard=False))
  first = host(train_and_evaluate(tiny_progan(4), str(tmp_path / "b"), tensorboard=False))
  assert int(first.extra["stage"]) == 1 and float(first.extra["alpha"]) == 0.5
  resumed = host(train_and_evaluate(tiny_progan(7), str(tmp_path / "b"), tensorboard=False))
  assert int(straight.step) == int(resumed.step) == 7
  assert int(resumed.extra["stage"]) == 1 and float(resumed.extra["alpha"]) == 1.0
  leaves_a = jax.tree_util.tree_flatten_with_path(straight)[0]
  leaves_b = jax.tree_util.tree_leaves(resumed)
  assert len(leaves_a) == len(leaves_b)
  for (path, x), y in zip(leaves_a, leaves_b):
    assert x.tobytes() == y.tobytes(), jax.tree_util.keystr(path)
  # The 8x8 blocks moved after the change (they train), so the comparison covers them.
  g_first = jax.tree_util.tree_leaves(first.g_params)
  assert any(not np.array_equal(x, y) for x, y in zip(g_first,
                                                       jax.tree_util.tree_leaves(resumed.g_params)))
  # Adam restarts where the fade-in starts (after iteration 1) and ends (after 5): one update
  # counted since; the learning-rate schedule counts all 7.
  for opt_state in (straight.g_opt_state, straight.d_opt_state):
    adam = [s for s in opt_state if isinstance(s, optax.ScaleByAdamState)]
    schedule = [s for s in opt_state if isinstance(s, optax.ScaleByScheduleState)]
    assert len(adam) == len(schedule) == 1
    assert int(adam[0].count) == 1 and int(schedule[0].count) == 7
  import json  # pylint: disable=g-import-not-at-top
  with open(tmp_path / "a" / "metrics.jsonl", encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert [r["resolution"] for r in records] == [4, 4, 8, 8, 8, 8, 8]
  assert [r["alpha"] for r in records] == [1.0, 1.0, 0.0, 0.25, 0.5, 0.75, 1.0]

  out = tmp_path / "s.npz"
  capsys.readouterr()
  assert cli.main(["sample", "--workdir", str(tmp_path / "b"), "--num", "3", "--out",
                   str(out)]) == 0
  assert "at 8x8" in capsys.readouterr().err
  assert np.load(out)["samples"].shape == (3, 8, 8, 1)


def test_a_per_stage_batch_that_does_not_split_into_stddev_groups_is_refused(tmp_path):
  config = tiny_progan(7)
  with config.unlocked():
    config.growth.batch_sizes = (8, 6)  # 6 does not split into minibatch-stddev groups of 4
  with pytest.raises(JaxganError, match="minibatch-stddev"):
    train_and_evaluate(config, str(tmp_path / "x"), tensorboard=False)
  assert not (tmp_path / "x" / "checkpoints").exists()


def test_gradient_penalty_is_taken_on_images_at_the_data_size():
  """At a stage below the data's size N the official code's D sees the r x r images upscaled
  to N x N (and box-downscales them back), so WGAN-GP's |grad| is |grad wrt the r x r image| *
  r / N. Mutations caught: the penalty taken on the r x r images (no rescaling: the value at
  4x4 changes), or the trainer not routing its terms through d_term_inputs (the penalty then
  sees 4x4 images)."""
  from jaxgan.train import terms as terms_lib  # pylint: disable=g-import-not-at-top
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  seen = []
  original = terms_lib.D_TERMS["gradient_penalty"]

  def spy(t):
    seen.append((t.real.shape, t.fake.shape))
    return original.fn(t)

  patched = {**terms_lib.D_TERMS, "gradient_penalty": terms_lib.Term(
      spy, per_example_grads=True, needs_fake=True)}
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(terms_lib, "D_TERMS", patched)
    experiment = Experiment(tiny_progan(4))  # data 8x8: stage 0 at 4x4, stage 1 at 8x8
    state = experiment.init_state()
    batch = experiment.next_batch(experiment.train_iterator())
    state, metrics = experiment.train_step(state, batch)  # iteration 0: stage 0 (4x4)
  assert seen and all(s == ((8, 8, 8, 1), (8, 8, 8, 1)) for s in seen), seen
  assert np.isfinite(float(metrics["gradient_penalty"]))

  trainer = experiment.trainer
  discriminator = trainer.nets.discriminator
  params = state.d_params
  real = jax.random.uniform(jax.random.PRNGKey(1), (8, 4, 4, 1), minval=-1.0, maxval=1.0)
  fake = jax.random.normal(jax.random.PRNGKey(2), (8, 4, 4, 1))
  key = jax.random.PRNGKey(3)

  def d_fn(x, labels):
    del labels
    return discriminator.apply({"params": params}, x, alpha=1.0)

  inputs = terms_lib.DTermInputs(d_fn, real, fake, None, d_fn(real, None), key)
  got = float(original.fn(trainer.d_term_inputs(inputs, 0)))
  eps = jax.random.uniform(key, (8, 1, 1, 1))
  mixed = eps * real + (1.0 - eps) * fake
  grads = jax.grad(lambda x: jnp.sum(d_fn(x, None)))(mixed)
  norms = jnp.sqrt(jnp.sum(jnp.square(grads.reshape(8, -1)), axis=1))
  official = float(jnp.mean(jnp.square(norms * 4 / 8 - 1.0)))
  at_4x4 = float(jnp.mean(jnp.square(norms - 1.0)))
  assert got == pytest.approx(official, rel=1e-4)
  assert abs(official - at_4x4) > 0.05 * max(official, at_4x4)  # the two can be told apart
  # At the data's size nothing changes.
  assert trainer.d_term_inputs(inputs, 1) is inputs


def ema_weight_left_on_a_stage_start(config, image_size: int) -> list[float]:
  """Per stage, the weight the EMA of G still gives the parameters of the stage's start at its
  end: the untrained initial values of the blocks the stage adds."""
  growth = growth_of(config, image_size)
  ends = list(growth.starts[1:]) + [config.steps]
  return [config.ema.decay ** (end - start) for start, end in zip(growth.starts, ends)]


@pytest.mark.parametrize("name", ["progan_digits", "progan_celeba_hq"])
def test_the_ema_of_g_forgets_a_new_blocks_initial_weights_within_its_stage(name):
  """The EMA of G (what samples and evaluations use) averages every parameter from step 0, so
  the blocks a stage adds enter it at their random initial values; a decay too slow for the
  stage's length leaves them a visible share at the stage's end (the official 0.999 per step
  on progan_digits' earlier 1250-step stages: 29%, and the samples grey and blurred). Mutation
  caught (tried: 0.999 on today's 400-step stages leaves 67%): the official per-step decay kept
  on a schedule far shorter than the official one."""
  config = load_config_file(os.path.join(REPO, "configs", f"{name}.py"))
  left = ema_weight_left_on_a_stage_start(config, config.data.image_size)
  assert max(left) < 0.01, left


def test_the_ema_ramp_up_reaches_progans_ema_and_refuses_per_stage_batches(tmp_path):
  """ema.rampup (StyleGAN2-ADA's ramp-up of the EMA's half-life) in a ProGAN config: at step 0
  no image has been seen, so the ramped average follows G exactly; without the ramp it keeps
  nine tenths of the initial weights. Mutation caught (the code before): ProGAN's EMA phase
  built without the ramp, so the key was silently ignored. Per-stage batch sizes are refused:
  the ramp counts steps x batch_size images."""
  config = tiny_progan(1)
  with config.unlocked():
    config.growth.batch_sizes = ()
    config.ema.rampup = 0.05
  state = host(train_and_evaluate(config, str(tmp_path / "ramped"), tensorboard=False))
  jax.tree_util.tree_map(np.testing.assert_array_equal, state.ema_params, state.g_params)
  with config.unlocked():
    config.ema.rampup = 0.0
  plain = host(train_and_evaluate(config, str(tmp_path / "plain"), tensorboard=False))
  differs = jax.tree_util.tree_map(lambda a, b: not np.array_equal(a, b), plain.ema_params,
                                   plain.g_params)
  assert any(jax.tree_util.tree_leaves(differs))
  with config.unlocked():
    config.ema.rampup = 0.05
    config.growth.batch_sizes = (8, 4)
  with pytest.raises(JaxganError, match="per-stage growth.batch_sizes"):
    growth_of(config, 8)
