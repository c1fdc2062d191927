"""Resuming from a checkpoint continues a run exactly, and refuses an incompatible config.

A tiny WGAN on the embedded digits: n_critic=2 (each step draws two real batches, so the data
iterator's position matters), weight clipping, an EMA of G and DCGAN BatchNorm statistics, so
every part of the train state is exercised.
"""

import hashlib
import os

import jax
import numpy as np
import pytest

from jaxgan.config import load_config_file
from jaxgan.errors import JaxganError
from jaxgan.train.loop import train_and_evaluate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N, M = 4, 2  # steps before and after the interruption
STATE_FIELDS = ("step", "g_params", "d_params", "g_state", "d_state", "g_opt_state",
                "d_opt_state", "ema_params", "rng")


def tiny_wgan(steps: int, **overrides):
  config = load_config_file(os.path.join(REPO, "configs", "wgan_digits.py"))
  settings = {
      # critic_boost off: 100 critic updates per early step would only slow the test.
      "steps": steps, "batch_size": 8, "n_critic": 2, "critic_boost.iterations": 0,
      "latent_dim": 8, "data.image_size": 16,
      "generator.base_features": 4, "discriminator.base_features": 4, "ema.decay": 0.9,
      "checkpoint_every": 2, "sample_every": 0, "log_every": 1,
      "sample_grid": 2, "eval.num_samples": 10, "eval.batch_size": 10, **overrides}
  with config.unlocked():
    for key, value in settings.items():
      *parents, leaf = key.split(".")
      node = config
      for p in parents:
        node = node[p]
      node[leaf] = value
  return config


def host(state):
  return jax.tree_util.tree_map(np.asarray, jax.device_get(state))


def tree_hash(directory) -> dict[str, str]:
  """relative path -> sha256 of every file under directory."""
  out = {}
  for root, _, files in os.walk(directory):
    for name in files:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
  return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """(uninterrupted state, resumed state, the resumed run's workdir, its state after N)."""
  straight_dir = str(tmp_path_factory.mktemp("straight"))
  resumed_dir = str(tmp_path_factory.mktemp("resumed"))
  straight = host(train_and_evaluate(tiny_wgan(N + M), straight_dir, tensorboard=False))
  first = host(train_and_evaluate(tiny_wgan(N), resumed_dir, tensorboard=False))
  resumed = host(train_and_evaluate(tiny_wgan(N + M), resumed_dir, tensorboard=False))
  return straight, resumed, resumed_dir, first


def _assert_bitwise_equal(a, b, what):
  leaves_a = jax.tree_util.tree_flatten_with_path(a)[0]
  leaves_b = jax.tree_util.tree_leaves(b)
  assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b), what
  assert leaves_a, what
  for (path, x), y in zip(leaves_a, leaves_b):
    name = what + jax.tree_util.keystr(path)
    assert x.dtype == y.dtype and x.shape == y.shape, name
    assert x.tobytes() == y.tobytes(), name


def test_resumed_run_is_bitwise_identical_to_an_uninterrupted_one(runs):
  straight, resumed, _, first = runs
  assert int(first.step) == N
  assert int(straight.step) == int(resumed.step) == N + M
  for field in STATE_FIELDS:
    _assert_bitwise_equal(getattr(straight, field), getattr(resumed, field), field)
  # Every part of the state is really there and really moved after the checkpoint.
  assert straight.ema_params is not None and straight.g_state and straight.d_state
  for field in ("g_params", "d_params", "ema_params", "g_state", "d_state", "rng"):
    moved = [not np.array_equal(x, y) for x, y in zip(
        jax.tree_util.tree_leaves(getattr(first, field)),
        jax.tree_util.tree_leaves(getattr(straight, field)))]
    assert any(moved), field


def test_resumed_run_saved_checkpoints_where_expected(runs):
  _, _, workdir, _ = runs
  checkpoints = os.path.join(workdir, "checkpoints")
  steps = sorted(int(name) for name in os.listdir(checkpoints) if name.isdigit())
  assert steps == [2, 4, 6]  # checkpoint_every=2, keep_checkpoints=3


def test_resuming_with_an_incompatible_config_fails_and_leaves_the_checkpoints_alone(runs):
  _, _, workdir, _ = runs
  before = tree_hash(workdir)
  assert any(path.startswith("checkpoints") for path in before)
  bigger = tiny_wgan(N + M + 2, **{"generator.base_features": 8})
  with pytest.raises(JaxganError, match="incompatible") as info:
    train_and_evaluate(bigger, workdir, tensorboard=False)
  assert "\n" not in str(info.value)  # a one-line message
  assert tree_hash(workdir) == before
