"""The `jaxgan` command line: bad input, the sample/evaluate contract, resume, signals, NaNs.

Bad input runs the real console script in a subprocess, so exit codes, stderr and the absence of
tracebacks are what a user sees; runs that only need to train are made in-process through
`jaxgan.cli.main`, which is much faster. Every model here is tiny.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jaxgan import cli

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
JAXGAN = str(Path(sys.executable).with_name("jaxgan"))

# Tiny variants of the configs: a few hundred parameters, so a run is mostly jit compilation.
TINY_RING8 = [
    "--config.batch_size=8",
    "--config.generator.hidden=(16,16)",
    "--config.discriminator.hidden=(16,)",
    "--config.eval.num_samples=100",
    "--config.log_every=1",
    "--config.sample_every=0",
]
TINY_DIGITS = [  # dcgan_digits
    "--config.batch_size=8",
    "--config.data.image_size=8",
    "--config.generator.base_features=4",
    "--config.discriminator.base_features=4",
    "--config.latent_dim=8",
    "--config.eval.num_samples=20",
    "--config.sample_grid=2",
    "--config.log_every=1",
    "--config.sample_every=0",
]
TINY_CGAN = [  # cgan_digits
    "--config.batch_size=8",
    "--config.data.image_size=8",
    "--config.latent_dim=8",
    "--config.generator.z_hidden=8",
    "--config.generator.label_hidden=8",
    "--config.generator.joint_hidden=(16,)",
    "--config.discriminator.x_hidden=8",
    "--config.discriminator.label_hidden=8",
    "--config.discriminator.joint_hidden=(8,)",
    "--config.eval.num_samples=20",
    "--config.sample_grid=2",
    "--config.log_every=1",
    "--config.sample_every=0",
]


# ---------------------------------------------------------------- helpers


def _env(**extra) -> dict:
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env["JAX_PLATFORMS"] = "cpu"
  env.update(extra)
  return env


def run_jaxgan(args, cwd, timeout=240, **env) -> subprocess.CompletedProcess:
  """The real console script, as a user runs it."""
  return subprocess.run([JAXGAN, *map(str, args)], cwd=cwd, env=_env(**env), capture_output=True,
                        text=True, timeout=timeout, check=False)


def train_in_process(config: str, workdir, *overrides) -> None:
  code = cli.main(["train", "--config", str(CONFIGS / f"{config}.py"), "--workdir", str(workdir),
                   "--no-tensorboard", *overrides])
  assert code == 0


def tree_snapshot(root) -> dict:
  """relative path -> sha256 of every file (None for folders) under root."""
  snapshot = {}
  for dirpath, dirnames, filenames in os.walk(root):
    rel = os.path.relpath(dirpath, root)
    for name in dirnames:
      snapshot[os.path.join(rel, name)] = None
    for name in filenames:
      with open(os.path.join(dirpath, name), "rb") as f:
        snapshot[os.path.join(rel, name)] = hashlib.sha256(f.read()).hexdigest()
  return snapshot


def assert_one_line_error(proc, *fragments, usage=False) -> str:
  """Non-zero exit, no traceback, exactly one error line (argparse's own for usage errors)."""
  stderr = proc.stderr
  assert proc.returncode != 0, stderr
  assert "Traceback" not in stderr, stderr
  assert proc.stdout == "", proc.stdout
  if usage:
    assert proc.returncode == 2, stderr
    assert stderr.startswith("usage: jaxgan"), stderr
    errors = [l for l in stderr.splitlines() if re.match(r"^jaxgan( \w+)?: error:", l)]
  else:
    assert proc.returncode == 1, stderr
    errors = [l for l in stderr.splitlines() if l.startswith("jaxgan: error:")]
  assert len(errors) == 1, stderr
  for fragment in fragments:
    assert fragment in errors[0], errors[0]
  return errors[0]


def checkpoint_steps(workdir) -> list[int]:
  path = Path(workdir) / "checkpoints"
  if not path.is_dir():
    return []
  return sorted(int(p.name) for p in path.iterdir() if p.name.isdigit())


def metric_steps(workdir) -> list[int]:
  """Steps of the training-metric records (eval/ records share metrics.jsonl)."""
  with open(Path(workdir) / "metrics.jsonl", encoding="utf-8") as f:
    return [r["step"] for r in map(json.loads, f) if "d_loss" in r]


def load_npz(path) -> dict:
  with np.load(path) as data:
    return {k: data[k] for k in data.files}


# ---------------------------------------------------------------- bad input


def _write_config_json(workdir: Path, config_name: str) -> None:
  """A workdir as a run leaves it when it stops before its first checkpoint."""
  from jaxgan.config import load_config_file  # pylint: disable=g-import-not-at-top
  workdir.mkdir()
  config = load_config_file(str(CONFIGS / f"{config_name}.py"))
  (workdir / "config.json").write_text(config.to_json_best_effort(indent=2))


def _image_folder(path: Path, corrupt: bool) -> None:
  from PIL import Image  # pylint: disable=g-import-not-at-top
  path.mkdir()
  if not corrupt:
    return
  for i in range(6):
    Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(path / f"img{i}.png")
  (path / "broken.png").write_bytes(b"not a png at all" * 8)


RING8 = str(CONFIGS / "gan_ring8.py")
DIGITS = str(CONFIGS / "gan_digits.py")

# (id, setup(tmp_path), args, env, fragments of the error line, argparse usage error?)
BAD_INPUT = [
    ("unknown_key", None, ["train", "--config", RING8, "--workdir", "w", "--config.stepz=5"], {},
     ["stepz", "did you mean steps?"], False),
    ("mistyped_value", None, ["train", "--config", RING8, "--workdir", "w", "--config.steps=abc"],
     {}, ["steps", "'abc'"], False),
    ("override_without_value", None,
     ["train", "--config", RING8, "--workdir", "w", "--config.steps"], {}, ["--config.steps"],
     True),
    ("missing_config_file", None, ["train", "--config", "nope.py", "--workdir", "w"], {},
     ["config file not found", "nope.py"], False),
    ("config_file_raises",
     lambda d: (d / "broken.py").write_text("raise RuntimeError('boom in config')\n"),
     ["train", "--config", "broken.py", "--workdir", "w"], {},
     ["broken.py", "RuntimeError", "boom in config"], False),
    ("batch_not_divisible_by_devices", None,
     ["train", "--config", RING8, "--workdir", "w", "--config.batch_size=12"],
     {"XLA_FLAGS": "--xla_force_host_platform_device_count=8"}, ["batch_size 12", "8 devices"],
     False),
    ("batch_not_divisible_by_grad_accum", None,
     ["train", "--config", RING8, "--workdir", "w", "--config.batch_size=12",
      "--config.grad_accum_steps=5"], {}, ["batch_size 12", "grad_accum_steps 5"], False),
    ("unknown_data_set", None,
     ["train", "--config", RING8, "--workdir", "w", "--config.data.name=nope"], {},
     ["unknown data set 'nope'"], False),
    ("tfds_not_prepared", lambda d: (d / "tfds_data").mkdir(),
     ["train", "--config", str(CONFIGS / "dcgan_mnist.py"), "--workdir", "w",
      "--config.data.data_dir=tfds_data"], {}, ["'mnist' is not prepared", "tfds build mnist"],
     False),
    ("empty_folder", lambda d: _image_folder(d / "images", corrupt=False),
     ["train", "--config", DIGITS, "--workdir", "w", "--config.data.name=folder",
      "--config.data.path=images"], {}, ["images", "no image files"], False),
    ("corrupt_image", lambda d: _image_folder(d / "images", corrupt=True),
     ["train", "--config", DIGITS, "--workdir", "w", "--config.data.name=folder",
      "--config.data.path=images"], {}, ["corrupt or unreadable image", "broken.png"], False),
    ("unknown_loss", None, ["train", "--config", RING8, "--workdir", "w", "--config.loss=nope"],
     {}, ["config key loss", "'nope'", "'hinge'"], False),
    ("unknown_g_optimizer", None,
     ["train", "--config", RING8, "--workdir", "w", "--config.optimizer.g.name=adamw2"], {},
     ["optimizer.g.name", "'adamw2'"], False),
    ("unknown_d_optimizer", None,
     ["train", "--config", RING8, "--workdir", "w", "--config.optimizer.d.name=nope"], {},
     ["optimizer.d.name", "'nope'"], False),
    ("sample_num_zero", lambda d: _write_config_json(d / "w", "gan_ring8"),
     ["sample", "--workdir", "w", "--num", "0", "--out", "s.npz"], {}, ["--num", "0"], False),
    ("sample_empty_workdir", lambda d: (d / "w").mkdir(),
     ["sample", "--workdir", "w", "--num", "4", "--out", "s.npz"], {}, ["w", "no training run"],
     False),
    ("sample_without_checkpoint", lambda d: _write_config_json(d / "w", "gan_ring8"),
     ["sample", "--workdir", "w", "--num", "4", "--out", "s.npz"], {}, ["no checkpoint"], False),
    ("evaluate_without_checkpoint", lambda d: _write_config_json(d / "w", "gan_ring8"),
     ["evaluate", "--workdir", "w"], {}, ["no checkpoint"], False),
    ("evaluate_missing_workdir", None, ["evaluate", "--workdir", "w"], {}, ["no training run"],
     False),
    ("unknown_subcommand", None, ["frobnicate", "--workdir", "w"], {}, ["frobnicate"], True),
    ("train_missing_workdir", None, ["train", "--config", RING8], {}, ["--workdir"], True),
    ("sample_missing_workdir", None, ["sample", "--num", "3", "--out", "s.npz"], {},
     ["--workdir"], True),
]


@pytest.mark.parametrize("name,setup,args,env,fragments,usage", BAD_INPUT,
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_one_line_and_touches_nothing(tmp_path, name, setup, args, env, fragments,
                                                   usage):
  del name
  if setup is not None:
    setup(tmp_path)
  before = tree_snapshot(tmp_path)
  proc = run_jaxgan(args, cwd=tmp_path, **env)
  assert_one_line_error(proc, *fragments, usage=usage)
  assert tree_snapshot(tmp_path) == before


@pytest.fixture(scope="module")
def ring8_run(tmp_path_factory):
  """A tiny trained ring8 workdir (4 steps, checkpoints at 2 and 4). Copy it before changing it."""
  workdir = tmp_path_factory.mktemp("ring8") / "run"
  train_in_process("gan_ring8", workdir, *TINY_RING8, "--config.steps=4",
                   "--config.checkpoint_every=2")
  return workdir


def test_incompatible_checkpoint_is_refused_and_left_alone(ring8_run, tmp_path):
  workdir = tmp_path / "w"
  shutil.copytree(ring8_run, workdir)
  before = tree_snapshot(tmp_path)
  args = ["train", "--config", RING8, "--workdir", "w", "--no-tensorboard", *TINY_RING8,
          "--config.steps=8", "--config.generator.hidden=(32,16)"]
  proc = run_jaxgan(args, cwd=tmp_path)
  assert_one_line_error(proc, "incompatible", "(32,)", "(16,)")
  assert tree_snapshot(tmp_path) == before
  assert checkpoint_steps(workdir) == [2, 4]


# ---------------------------------------------------------------- sample / evaluate contract


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("dcgan") / "run"
  train_in_process("dcgan_digits", workdir, *TINY_DIGITS, "--config.steps=2")
  return workdir


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("cgan") / "run"
  train_in_process("cgan_digits", workdir, *TINY_CGAN, "--config.steps=2")
  return workdir


def _sample(workdir, out, num, seed) -> dict:
  assert cli.main(["sample", "--workdir", str(workdir), "--num", str(num), "--out", str(out),
                   "--seed", str(seed)]) == 0
  return load_npz(out)


def test_sample_ring8_points(ring8_run, tmp_path):
  out = _sample(ring8_run, tmp_path / "sub" / "points.npz", num=7, seed=3)
  assert set(out) == {"samples"}
  assert out["samples"].dtype == np.float32 and out["samples"].shape == (7, 2)
  assert np.all(np.isfinite(out["samples"]))


def test_sample_images_are_uint8_nhwc(digits_run, tmp_path):
  out = _sample(digits_run, tmp_path / "images.npz", num=5, seed=0)
  assert set(out) == {"samples"}
  assert out["samples"].dtype == np.uint8 and out["samples"].shape == (5, 8, 8, 1)
  assert out["samples"].std() > 0  # not one flat colour


def test_sample_cgan_labels_cycle_and_matter(cgan_run, tmp_path):
  out = _sample(cgan_run, tmp_path / "cgan.npz", num=23, seed=1)
  assert set(out) == {"samples", "labels"}
  assert out["samples"].dtype == np.uint8 and out["samples"].shape == (23, 8, 8, 1)
  assert out["labels"].dtype == np.int32
  np.testing.assert_array_equal(out["labels"], np.arange(23) % 10)

  # The same latent with each of the 10 labels gives 10 different images.
  import jax  # pylint: disable=g-import-not-at-top
  _, experiment, state, _ = cli._load_workdir(str(cgan_run))  # pylint: disable=protected-access
  z = np.repeat(np.asarray(jax.random.normal(jax.random.PRNGKey(0), (1, 8))), 10, axis=0)
  generator = getattr(experiment, "trainer", experiment)  # where generate() lives
  images = np.asarray(generator.generate(state, z, np.arange(10, dtype=np.int32)))
  flat = images.reshape(10, -1)
  distances = np.abs(flat[:, None] - flat[None]).max(axis=-1)
  assert np.all(distances[~np.eye(10, dtype=bool)] > 1e-4), distances


@pytest.mark.parametrize("run", ["ring8_run", "digits_run", "cgan_run"])
def test_sample_seed_determines_samples(run, request, tmp_path):
  workdir = request.getfixturevalue(run)
  first = _sample(workdir, tmp_path / "a.npz", num=6, seed=11)["samples"]
  again = _sample(workdir, tmp_path / "b.npz", num=6, seed=11)["samples"]
  other = _sample(workdir, tmp_path / "c.npz", num=6, seed=12)["samples"]
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)


@pytest.mark.parametrize("run,keys", [
    ("ring8_run", {"modes_covered", "high_quality_fraction"}),
    ("digits_run", {"fd", "kid", "is"}),
    ("cgan_run", {"fd", "kid", "is", "label_accuracy"}),
])
def test_evaluate_prints_one_json_line_and_saves_it(run, keys, request, tmp_path):
  workdir = tmp_path / "w"
  shutil.copytree(request.getfixturevalue(run), workdir)
  proc = run_jaxgan(["evaluate", "--workdir", workdir], cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr
  assert "Traceback" not in proc.stderr
  lines = proc.stdout.splitlines()
  assert len(lines) == 1, proc.stdout
  scores = json.loads(lines[0])
  assert keys <= set(scores), scores
  assert scores["step"] == checkpoint_steps(workdir)[-1]
  for key in keys:
    assert isinstance(scores[key], float) and np.isfinite(scores[key]), scores
  if "modes_covered" in keys:
    assert 0 <= scores["modes_covered"] <= 8 and 0 <= scores["high_quality_fraction"] <= 1
  if "label_accuracy" in keys:
    assert 0 <= scores["label_accuracy"] <= 1
  saved = (workdir / "evaluation.json").read_text().splitlines()
  assert len(saved) == 1 and json.loads(saved[0]) == scores


# ---------------------------------------------------------------- resume


def test_rerun_with_more_steps_continues(tmp_path):
  common = [*TINY_RING8, "--config.checkpoint_every=5"]
  resumed = tmp_path / "resumed"
  train_in_process("gan_ring8", resumed, *common, "--config.steps=10")
  assert metric_steps(resumed) == list(range(1, 11))
  assert checkpoint_steps(resumed) == [5, 10]
  train_in_process("gan_ring8", resumed, *common, "--config.steps=20")
  assert metric_steps(resumed) == list(range(1, 21))  # 11..20 appended, nothing redone
  assert checkpoint_steps(resumed)[-1] == 20 and 15 in checkpoint_steps(resumed)

  # The resumed run is the run that never stopped: same data, same noise, same losses.
  straight = tmp_path / "straight"
  train_in_process("gan_ring8", straight, *common, "--config.steps=20")

  def losses(workdir):
    with open(workdir / "metrics.jsonl", encoding="utf-8") as f:
      return [(r["step"], r["d_loss"], r["g_loss"]) for r in map(json.loads, f) if "d_loss" in r]
  np.testing.assert_allclose(np.array(losses(resumed)), np.array(losses(straight)), rtol=1e-5)


# ---------------------------------------------------------------- SIGTERM


def test_sigterm_saves_exits_143_and_resumes(tmp_path):
  workdir = tmp_path / "w"
  common = [*TINY_RING8, "--config.checkpoint_every=20", "--no-tensorboard"]
  args = [JAXGAN, "train", "--config", RING8, "--workdir", str(workdir), *common,
          "--config.steps=1000000"]
  with open(tmp_path / "stderr.txt", "w+", encoding="utf-8") as err:
    proc = subprocess.Popen(args, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=err, text=True)
    try:
      deadline = time.time() + 300  # compilation is slow on a loaded 2-core machine
      while not checkpoint_steps(workdir) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
      assert checkpoint_steps(workdir), "no checkpoint appeared"
      proc.send_signal(signal.SIGTERM)
      code = proc.wait(timeout=120)
    finally:
      if proc.poll() is None:
        proc.kill()
        proc.wait()
    err.seek(0)
    stderr = err.read()
  assert code == 128 + signal.SIGTERM == 143, stderr
  assert "Traceback" not in stderr, stderr
  match = re.search(r"stopped by SIGTERM at step (\d+)", stderr)
  assert match, stderr
  stopped = int(match.group(1))
  assert stopped >= 20
  assert checkpoint_steps(workdir)[-1] == stopped
  assert metric_steps(workdir)[-1] == stopped

  # Rerunning resumes from the step it stopped at.
  train_in_process("gan_ring8", workdir, *common[:-1], f"--config.steps={stopped + 3}")
  assert metric_steps(workdir) == list(range(1, stopped + 4))
  assert checkpoint_steps(workdir)[-1] == stopped + 3


# ---------------------------------------------------------------- non-finite loss


def _non_finite_leaves(state) -> list[str]:
  import jax  # pylint: disable=g-import-not-at-top
  return [jax.tree_util.keystr(path) for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]
          if np.issubdtype(np.asarray(leaf).dtype, np.floating)
          and not np.all(np.isfinite(np.asarray(leaf)))]


def _diverging_args(lr: str, workdir="w") -> list[str]:
  return ["train", "--config", RING8, "--workdir", str(workdir), "--no-tensorboard", *TINY_RING8,
          "--config.steps=40", "--config.checkpoint_every=1", "--config.keep_checkpoints=50",
          f"--config.optimizer.g.lr={lr}", f"--config.optimizer.d.lr={lr}"]


def test_non_finite_loss_stops_and_keeps_last_checkpoint(tmp_path):
  # With lr=1e8 the step-1 update already throws the weights to ~1e8; the losses of step 2 or 3
  # overflow (seeds 0-3 measured: steps 2, 3, 2, 2), while the checkpoints before stay finite.
  proc = run_jaxgan(_diverging_args("1e8"), cwd=tmp_path)
  line = assert_one_line_error(proc, "non-finite")
  bad_step = int(re.search(r"at step (\d+)", line).group(1))
  good_step = int(re.search(r"checkpoint \(step (\d+)\)", line).group(1))
  assert 1 <= good_step < bad_step
  workdir = tmp_path / "w"
  assert checkpoint_steps(workdir)[-1] == good_step

  # The checkpoint left behind restores, with finite weights that make finite samples.
  _, _, state, step = cli._load_workdir(str(workdir))  # pylint: disable=protected-access
  assert step == good_step and int(state.step) == good_step
  assert _non_finite_leaves(state) == []
  out = _sample(workdir, tmp_path / "after.npz", num=16, seed=0)
  assert np.all(np.isfinite(out["samples"]))


@pytest.mark.parametrize("lr", ["1e10", "1e12"])
def test_non_finite_state_is_never_checkpointed_as_good(lr, tmp_path, capsys):
  """A state that is no longer finite must stop the run like a non-finite loss does.

  With these learning rates the losses of step 1 are finite but G's Adam second moments
  (gradients ~1e20, squared) are already inf after it. With lr=1e10 the losses overflow at
  step 2 and the step-1 checkpoint, with its inf moments, is called "the last good checkpoint";
  with lr=1e12 the inf moments freeze G and D (Adam's update is then 0) and all 40 steps
  "succeed", checkpointing an inf state at every step.
  """
  workdir = tmp_path / "w"
  code = cli.main(_diverging_args(lr, workdir))
  stderr = capsys.readouterr().err
  errors = [l for l in stderr.splitlines() if l.startswith("jaxgan: error:")]
  assert code == 1 and len(errors) == 1 and "non-finite" in errors[0], stderr
  # Step 1's state already holds the inf moments: the run stops there, before its first
  # checkpoint, and says so.
  assert "at step 1 " in errors[0] and "no checkpoint was written" in errors[0], errors[0]
  assert checkpoint_steps(workdir) == []
