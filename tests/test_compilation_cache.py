"""config.compilation_cache: training runs fill JAX's persistent compilation cache."""

from __future__ import annotations

import os

import jax
import pytest

from jaxgan import cli
from jaxgan.errors import JaxganError
from jaxgan.train import compilation_cache

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def restore_cache_setting():
  before = jax.config.jax_compilation_cache_dir, jax.config.jax_enable_compilation_cache
  yield
  jax.config.update("jax_compilation_cache_dir", before[0])
  jax.config.update("jax_enable_compilation_cache", before[1])
  compilation_cache.compilation_cache.reset_cache()


def test_resolve_settings(monkeypatch, tmp_path, restore_cache_setting):
  assert compilation_cache.resolve("off") is None
  monkeypatch.setenv(compilation_cache.ENV, str(tmp_path / "env"))
  assert compilation_cache.resolve("auto") == str(tmp_path / "env")
  monkeypatch.delenv(compilation_cache.ENV)
  jax.config.update("jax_compilation_cache_dir", None)
  assert compilation_cache.resolve("auto") == compilation_cache.default_dir()
  assert compilation_cache.resolve(str(tmp_path / "x")) == str(tmp_path / "x")


def test_a_training_run_fills_the_cache_and_off_leaves_it_alone(tmp_path, monkeypatch,
                                                                restore_cache_setting):
  cache = tmp_path / "xla"
  monkeypatch.setenv(compilation_cache.ENV, str(cache))  # where 'auto' puts it
  ring8 = os.path.join(REPO, "configs", "gan_ring8.py")
  tiny = ["--config.batch_size=8", "--config.generator.hidden=(16,16)",
          "--config.discriminator.hidden=(16,)", "--config.eval.num_samples=50",
          "--config.sample_every=0", "--config.steps=2", "--no-tensorboard"]
  assert cli.main(["train", "--config", ring8, "--workdir", str(tmp_path / "w0"), *tiny,
                   "--config.compilation_cache=off"]) == 0
  assert not cache.exists()
  assert cli.main(["train", "--config", ring8, "--workdir", str(tmp_path / "w1"), *tiny]) == 0
  entries = os.listdir(cache)
  # The init, the step and the sampling functions: each compiled program is one entry.
  assert len(entries) >= 2, entries


def test_an_unusable_cache_folder_is_one_line(tmp_path, restore_cache_setting):
  blocker = tmp_path / "file"
  blocker.write_text("not a folder")
  with pytest.raises(JaxganError, match="compilation_cache: cannot make the folder"):
    compilation_cache.enable(str(blocker / "xla"))
