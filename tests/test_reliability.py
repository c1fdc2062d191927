"""Reliability: every bad value and file-system fault is one line, before anything is lost.

Each case of BAD_INPUT and FAULTS asserts what a user sees: a non-zero exit, exactly one
`jaxgan: error:` line on stderr, no traceback, and every file that existed before the command
byte-identical afterwards (mid-run faults: the checkpoints byte-identical and the logs only
appended to). Cases that need no patching run the real console script, all at once in a thread
pool (each is mostly start-up); faults that must be injected (a read-only folder, as root
ignores permission bits; a full disk) patch the process and run `jaxgan.cli.main` in-process.
A `kill -9` right after a checkpoint checks what the next `train` resumes from and that the logs
cover the checkpoint and hold no step twice.
"""

from __future__ import annotations

import builtins
import concurrent.futures
import errno
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orbax.checkpoint as ocp
import pytest

from jaxgan import cli
from jaxgan import config as config_lib
from jaxgan.errors import JaxganError
from jaxgan.train import workdir as workdir_lib
from test_cli import (CONFIGS, JAXGAN, TINY_DIGITS, TINY_RING8, _env, checkpoint_steps,
                      tree_snapshot)

DIGITS = str(CONFIGS / "dcgan_digits.py")
RING8 = str(CONFIGS / "gan_ring8.py")


def _train(config, workdir="w", *overrides, tiny=None):
  tiny = tiny if tiny is not None else (TINY_RING8 if config == RING8 else TINY_DIGITS)
  return ["train", "--config", config, "--workdir", workdir, "--no-tensorboard", *tiny,
          *overrides]


def error_lines(stderr: str) -> list[str]:
  return [l for l in stderr.splitlines() if l.startswith("jaxgan: error:")]


def assert_one_line(code: int, stdout: str, stderr: str, fragments, stdout_ok=False) -> str:
  assert code == 1, stderr
  assert "Traceback" not in stderr, stderr
  if not stdout_ok:
    assert stdout == "", stdout
  errors = error_lines(stderr)
  assert len(errors) == 1, stderr
  for fragment in fragments:
    assert fragment in errors[0], errors[0]
  return errors[0]


def jsonl_steps(path) -> list[int]:
  """Steps of the training records (not eval/ ones) of a metrics.jsonl, skipping a line a
  kill cut short."""
  steps = []
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        record = json.loads(line)
      except json.JSONDecodeError:
        continue
      if "d_loss" in record:
        steps.append(record["step"])
  return steps


# ---------------------------------------------------------------- setups


def _file(path):
  def setup(d: Path):
    (d / path).parent.mkdir(parents=True, exist_ok=True)
    (d / path).write_text("not a folder\n")
  return setup


def _folder(path):
  return lambda d: (d / path).mkdir(parents=True)


def _lock(host=None, pid=None):
  """W/.lock of a live process (this test's own sleeping child) or of another host."""
  def setup(d: Path):
    (d / "w").mkdir()
    (d / "w" / "config.json").write_text("{}")
    owner = pid
    if owner is None:
      child = subprocess.Popen(["sleep", "600"])  # pylint: disable=consider-using-with
      _CHILDREN.append(child)
      owner = child.pid
    (d / "w" / ".lock").write_text(json.dumps({"pid": owner, "host": host or
                                               socket.gethostname()}))
  return setup


_CHILDREN: list[subprocess.Popen] = []


@pytest.fixture(scope="module", autouse=True)
def _reap_children():
  yield
  for child in _CHILDREN:
    child.kill()
    child.wait()


# (id, setup(tmp_path) or None, args, fragments of the error line). Through the console script.
BAD_INPUT = [
    ("generator_base_features_0", None, _train(DIGITS, "w", "--config.generator.base_features=0"),
     ["generator.base_features", ">= 1", "got 0"]),
    ("discriminator_base_features_0", None,
     _train(DIGITS, "w", "--config.discriminator.base_features=0"),
     ["discriminator.base_features", "got 0"]),
    ("sample_grid_0", None, _train(DIGITS, "w", "--config.sample_grid=0"),
     ["sample_grid", "in [1, 64]"]),
    ("eval_batch_size_0", None, _train(DIGITS, "w", "--config.eval.batch_size=0"),
     ["eval.batch_size", ">= 1"]),
    ("seed_negative", None, _train(DIGITS, "w", "--config.seed=-1"), ["seed", "got -1"]),
    ("generator_norm_bogus", None, _train(DIGITS, "w", "--config.generator.norm=bogus"),
     ["generator.norm", "'bogus'", "'batch'"]),
    ("ring8_hidden_0", None, _train(RING8, "w", "--config.generator.hidden=(16,0)"),
     ["generator.hidden", "(16, 0)"]),
    # About 2 TiB by XLA's estimate: more than any machine these tests run on.
    ("batch_beyond_memory", None, _train(DIGITS, "w", "--config.batch_size=1073741824"),
     ["the step needs about", "GiB", "batch_size 1073741824"]),
    ("workdir_is_a_file", _file("w"), _train(RING8, "w"), ["workdir w is a file"]),
    ("workdir_empty", None, _train(RING8, ""), ["--workdir is empty"]),
    ("checkpoints_is_a_file", _file("w/checkpoints"), _train(RING8, "w"),
     ["w/checkpoints is a file"]),
    ("live_lock", _lock(), _train(RING8, "w"), ["in use by another jaxgan train", "pid"]),
    ("sample_out_is_a_folder", _folder("out.npz"),
     ["sample", "--workdir", "w", "--num", "2", "--out", "out.npz"], ["out.npz is a folder"]),
]

# Same kind, in-process (cheaper: no start-up); patch(monkeypatch, tmp_path) injects a fault.
def _read_only(root_name):
  """Writes under tmp_path/root_name fail as on a read-only mount (root ignores chmod)."""
  def patch(monkeypatch, d: Path):
    root = os.path.abspath(d / root_name)
    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir

    def under(path):
      return os.path.abspath(os.fspath(path)).startswith(root)

    def fake_open(file, mode="r", *args, **kwargs):
      if isinstance(file, (str, Path)) and under(file) and any(c in mode for c in "wax+"):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
      return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
      if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
      return real_os_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
      if under(path):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
      return real_mkdir(path, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
  return patch


IN_PROCESS = [
    # (id, setup, patch, args, fragments)
    ("eval_num_samples_0", None, None, _train(DIGITS, "w", "--config.eval.num_samples=0"),
     ["eval.num_samples"]),
    ("steps_0", None, None, _train(RING8, "w", "--config.steps=0"), ["steps", ">= 1"]),
    ("log_every_0", None, None, _train(RING8, "w", "--config.log_every=0"), ["log_every"]),
    ("checkpoint_every_0", None, None, _train(RING8, "w", "--config.checkpoint_every=0"),
     ["checkpoint_every"]),
    ("keep_checkpoints_0", None, None, _train(RING8, "w", "--config.keep_checkpoints=0"),
     ["keep_checkpoints"]),
    ("sample_every_negative", None, None, _train(RING8, "w", "--config.sample_every=-1"),
     ["sample_every", ">= 0"]),
    ("evals_every_negative", None, None, _train(RING8, "w", "--config.evals.modes.every=-5"),
     ["evals.modes.every"]),
    ("optimizer_lr_negative", None, None, _train(RING8, "w", "--config.optimizer.g.lr=-0.1"),
     ["optimizer.g.lr", ">= 0"]),
    ("optimizer_b1_1", None, None, _train(RING8, "w", "--config.optimizer.d.b1=1.0"),
     ["optimizer.d.b1", "in [0, 1)"]),
    ("ema_decay_1", None, None, _train(RING8, "w", "--config.ema.decay=1.0"), ["ema.decay"]),
    ("latent_dim_0", None, None, _train(RING8, "w", "--config.latent_dim=0"), ["latent_dim"]),
    ("n_critic_0", None, None, _train(RING8, "w", "--config.n_critic=0"), ["n_critic"]),
    ("critic_boost_negative", None, None,
     _train(RING8, "w", "--config.critic_boost.iterations=-1"), ["critic_boost.iterations"]),
    ("compute_dtype_float16", None, None, _train(RING8, "w", "--config.compute_dtype=float16"),
     ["compute_dtype", "'bfloat16'"]),
    ("conv_impl_bogus", None, None, _train(DIGITS, "w", "--config.conv_impl=fast"),
     ["conv_impl", "'fast'"]),
    ("data_channels_2", None, None, _train(DIGITS, "w", "--config.data.channels=2"),
     ["data.channels"]),
    ("data_image_size_0", None, None, _train(DIGITS, "w", "--config.data.image_size=0"),
     ["data.image_size"]),
    ("keep_best_mode_bogus", None, None, _train(RING8, "w", "--config.keep_best_mode=median"),
     ["keep_best_mode", "'min'"]),
    ("discriminator_act_bogus", None, None, _train(RING8, "w", "--config.discriminator.act=gelu"),
     ["discriminator.act", "'gelu'"]),
    ("discriminator_dropout_1", None, None,
     _train(RING8, "w", "--config.discriminator.dropout=1.0"), ["discriminator.dropout"]),
    # Values no rule can judge alone: the networks, built abstractly for the data's shape.
    ("dcgan_image_size_7", None, None, _train(DIGITS, "w", "--config.data.image_size=7"),
     ["'dcgan' networks cannot be built", "(7, 7, 1)", "4*2^k"]),
    ("dcgan_image_size_2", None, None, _train(DIGITS, "w", "--config.data.image_size=2"),
     ["'dcgan' networks cannot be built", "(2, 2, 1)"]),
    ("biggan_multipliers_too_many", None, None,
     _train(str(CONFIGS / "biggan_digits.py"), "w",
            "--config.generator.channel_multipliers=(4,4,4,4,4,4)", tiny=[]),
     ["'biggan' networks cannot be built", "channel_multipliers"]),
    ("workdir_parent_is_a_file", _file("f"), None, _train(RING8, "f/w"),
     ["cannot create workdir f/w", "is a file"]),
    ("samples_is_a_file", _file("w/samples"), None, _train(RING8, "w"),
     ["w/samples is a file"]),
    ("metrics_is_a_folder", _folder("w/metrics.jsonl"), None, _train(RING8, "w"),
     ["metrics.jsonl is a folder"]),
    ("workdir_read_only", _folder("w"), _read_only("w"), _train(RING8, "w"),
     ["cannot write in w", "Permission denied"]),
    ("workdir_parent_read_only", _folder("ro"), _read_only("ro"), _train(RING8, "ro/w"),
     ["cannot write in", "ro", "Permission denied"]),
    ("lock_of_another_host", _lock(host="elsewhere.example", pid=1), None, _train(RING8, "w"),
     ["locked by process 1 on host elsewhere.example", ".lock"]),
    ("sample_out_parent_is_a_file", _file("f"), None,
     ["sample", "--workdir", "w", "--num", "2", "--out", "f/s.npz"], ["f/s.npz", "is a file"]),
    ("sample_out_not_npz", None, None,
     ["sample", "--workdir", "w", "--num", "2", "--out", "s.png"], [".npz"]),
    ("evaluate_num_samples_negative", None, None,
     ["evaluate", "--workdir", "w", "--num-samples", "-1"], ["--num-samples"]),
]


def _run_script(case, root: Path):
  name, setup, args, _ = case
  d = root / name
  d.mkdir()
  if setup is not None:
    setup(d)
  before = tree_snapshot(d)
  proc = subprocess.run([JAXGAN, *args], cwd=d, env=_env(), capture_output=True, text=True,
                        timeout=400, check=False)
  return proc, before, tree_snapshot(d)


@pytest.fixture(scope="module")
def script_results(tmp_path_factory):
  """Every BAD_INPUT case through the console script, four at a time."""
  root = tmp_path_factory.mktemp("script")
  with concurrent.futures.ThreadPoolExecutor(4) as pool:
    futures = {case[0]: pool.submit(_run_script, case, root) for case in BAD_INPUT}
    return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_through_the_console_script(case, script_results):
  proc, before, after = script_results[case[0]]
  assert_one_line(proc.returncode, proc.stdout, proc.stderr, case[3])
  assert after == before


def run_main(capsys, args) -> tuple[int, str, str]:
  capsys.readouterr()
  code = cli.main([str(a) for a in args])
  out = capsys.readouterr()
  return code, out.out, out.err


@pytest.mark.parametrize("case", IN_PROCESS, ids=[c[0] for c in IN_PROCESS])
def test_bad_input_in_process(case, tmp_path, monkeypatch, capsys):
  _, setup, patch, args, fragments = case
  monkeypatch.chdir(tmp_path)
  if setup is not None:
    setup(tmp_path)
  before = tree_snapshot(tmp_path)
  with pytest.MonkeyPatch.context() as mp:
    if patch is not None:
      patch(mp, tmp_path)
    code, out, err = run_main(capsys, args)
  assert_one_line(code, out, err, fragments)
  assert tree_snapshot(tmp_path) == before


# ---------------------------------------------------------------- on a trained workdir


@pytest.fixture(scope="module")
def ring8_run(tmp_path_factory):
  """A tiny ring8 workdir: 4 steps, checkpoints 2 and 4. Copy it before changing it."""
  workdir = tmp_path_factory.mktemp("ring8") / "run"
  assert cli.main(_train(RING8, str(workdir), "--config.steps=4",
                         "--config.checkpoint_every=2")) == 0
  return workdir


def _corrupt(workdir: Path, step: int):
  """Overwrites the files of checkpoint `step`'s state (metadata and arrays) with garbage."""
  for path in (workdir / "checkpoints" / str(step) / "state").rglob("*"):
    if path.is_file():
      path.write_bytes(b"garbage")


def _copy(ring8_run, tmp_path, corrupt=()):
  shutil.copytree(ring8_run, tmp_path / "w")
  for step in corrupt:
    _corrupt(tmp_path / "w", step)


def _raise_at(monkeypatch, target, name, error, when=lambda *a, **k: True):
  real = getattr(target, name)

  def fake(*args, **kwargs):
    if when(*args, **kwargs):
      raise error
    return real(*args, **kwargs)
  monkeypatch.setattr(target, name, fake)


ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
EACCES = PermissionError(errno.EACCES, os.strerror(errno.EACCES))


def _wrapped(error):
  """An error as orbax raises it from its writer thread: another type, caused by error."""
  try:
    raise error
  except OSError as e:
    try:
      raise RuntimeError("checkpoint write failed") from e
    except RuntimeError as wrapped:
      return wrapped


def _after_step(n):
  """orbax's CheckpointManager.save(self, step, ...) past step n."""
  return lambda self, step, *a, **k: step > n


# (id, corrupt checkpoints, patch(monkeypatch), args, fragments, mid_run). mid_run: the command
# trains past checkpoint 4 before the fault, so the logs grow; the checkpoints must not change.
FAULTS = [
    ("config_change_refused", (), None, _train(RING8, "w", "--config.steps=6",
                                               "--config.loss=hinge"),
     ["loss: 'non_saturating' -> 'hinge'", "--allow-config-change"], False),
    ("config_change_of_two_keys_refused", (), None,
     _train(RING8, "w", "--config.steps=6", "--config.optimizer.g.lr=0.5",
            "--config.data.name=grid25"),
     ["data.name: 'ring8' -> 'grid25'", "optimizer.g.lr"], False),
    ("latest_checkpoint_unreadable_train", (4,), None, _train(RING8, "w", "--config.steps=6"),
     ["checkpoint 4", "unreadable", "newest intact checkpoint is 2", "--resume-from-previous"],
     False),
    ("latest_checkpoint_unreadable_sample", (4,), None,
     ["sample", "--workdir", "w", "--num", "2", "--out", "s.npz"],
     ["checkpoint 4", "newest intact checkpoint is 2", "--step 2"], False),
    ("latest_checkpoint_unreadable_evaluate", (4,), None, ["evaluate", "--workdir", "w"],
     ["checkpoint 4", "--step 2"], False),
    ("every_checkpoint_unreadable", (2, 4), None, _train(RING8, "w", "--config.steps=6",
                                                         "--resume-from-previous"),
     ["no older intact checkpoint"], False),
    ("sample_missing_step", (), None,
     ["sample", "--workdir", "w", "--num", "2", "--out", "s.npz", "--step", "3"],
     ["no checkpoint 3", "[2, 4]"], False),
    ("disk_full_at_checkpoint", (),
     lambda mp: _raise_at(mp, ocp.CheckpointManager, "save", ENOSPC, _after_step(4)),
     _train(RING8, "w", "--config.steps=8", "--config.checkpoint_every=2"),
     ["could not write checkpoint 6", "No space left on device", "checkpoint 4 is intact"], True),
    ("disk_full_inside_orbax", (),
     lambda mp: _raise_at(mp, ocp.CheckpointManager, "save", _wrapped(ENOSPC), _after_step(4)),
     _train(RING8, "w", "--config.steps=8", "--config.checkpoint_every=2"),
     ["could not write checkpoint 6", "No space left on device", "checkpoint 4 is intact"], True),
    ("checkpoints_read_only_mid_run", (),
     lambda mp: _raise_at(mp, ocp.CheckpointManager, "save", EACCES, _after_step(4)),
     _train(RING8, "w", "--config.steps=8", "--config.checkpoint_every=2"),
     ["could not write checkpoint 6", "Permission denied", "checkpoint 4 is intact"], True),
    ("disk_full_at_sample_grid", (),
     lambda mp: _raise_at(mp, cli_visualize(), "save_png",
                          OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "step.png")),
     _train(RING8, "w", "--config.steps=8", "--config.checkpoint_every=2",
            "--config.sample_every=5"),
     ["could not write step.png", "No space left on device", "checkpoint 4 is intact"], True),
    ("disk_full_at_metrics", (),
     lambda mp: _raise_at(mp, workdir_writers(), "write_scalars", ENOSPC,
                          lambda self, step, scalars: step > 5),
     _train(RING8, "w", "--config.steps=8", "--config.checkpoint_every=2"),
     ["No space left on device", "checkpoint 4 is intact"], True),
    ("config_json_unreadable", (), None, _train(RING8, "w", "--config.steps=6"),
     ["config.json is not a readable config"], False),
]


def cli_visualize():
  from jaxgan import visualize  # pylint: disable=g-import-not-at-top
  return visualize


def workdir_writers():
  from jaxgan.train.writers import JsonlWriter  # pylint: disable=g-import-not-at-top
  return JsonlWriter


@pytest.mark.parametrize("case", FAULTS, ids=[c[0] for c in FAULTS])
def test_faults_on_a_trained_workdir(case, ring8_run, tmp_path, monkeypatch, capsys):
  name, corrupt, patch, args, fragments, mid_run = case
  monkeypatch.chdir(tmp_path)
  _copy(ring8_run, tmp_path, corrupt)
  if name == "config_json_unreadable":
    (tmp_path / "w" / "config.json").write_text("{ not json")
  before = tree_snapshot(tmp_path)
  old_logs = {n: (tmp_path / "w" / n).read_bytes() for n in ("metrics.jsonl", "eval.jsonl")}
  with pytest.MonkeyPatch.context() as mp:
    if patch is not None:
      patch(mp)
    code, out, err = run_main(capsys, args)
  assert_one_line(code, out, err, fragments)
  after = tree_snapshot(tmp_path)
  if not mid_run:
    assert after == before
    return
  # Mid-run: what was there is untouched, the logs only grew, no lock is left behind, and the
  # next train resumes from the intact checkpoint and ends with each step logged once.
  changed = {p for p in before if after.get(p) != before[p]}
  assert changed <= {"w/config.json", "w/config_history.jsonl", "w/metrics.jsonl",
                     "w/eval.jsonl"}, changed
  for n, content in old_logs.items():
    assert (tmp_path / "w" / n).read_bytes().startswith(content), n
  assert not (tmp_path / "w" / ".lock").exists()
  assert checkpoint_steps(tmp_path / "w") == [2, 4]
  code, _, err = run_main(capsys, _train(RING8, "w", "--config.steps=8",
                                         "--config.checkpoint_every=2"))
  assert code == 0, err
  assert checkpoint_steps(tmp_path / "w") == [4, 6, 8]
  assert jsonl_steps(tmp_path / "w" / "metrics.jsonl") == list(range(1, 9))


def test_evaluate_on_a_read_only_workdir_still_prints_the_scores(ring8_run, tmp_path,
                                                                  monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  _copy(ring8_run, tmp_path)
  before = tree_snapshot(tmp_path)
  with pytest.MonkeyPatch.context() as mp:
    _read_only("w")(mp, tmp_path)
    code, out, err = run_main(capsys, ["evaluate", "--workdir", "w"])
  assert_one_line(code, out, err, ["could not write w/evaluation.json", "Permission denied",
                                   "stdout"], stdout_ok=True)
  scores = json.loads(out)
  assert scores["step"] == 4 and "modes_covered" in scores
  assert tree_snapshot(tmp_path) == before


# ---------------------------------------------------------------- what succeeds


def test_resume_from_previous_keeps_the_bad_checkpoint(ring8_run, tmp_path, monkeypatch, capsys,
                                                       caplog):
  monkeypatch.chdir(tmp_path)
  _copy(ring8_run, tmp_path, corrupt=(4,))
  bad = tree_snapshot(tmp_path / "w" / "checkpoints" / "4")
  with caplog.at_level("WARNING", logger="jaxgan"):
    code, _, err = run_main(capsys, _train(RING8, "w", "--config.steps=6",
                                           "--config.checkpoint_every=2", "--resume-from-previous"))
  assert code == 0, err
  assert "resuming from 2" in caplog.text and "Traceback" not in err
  aside = glob.glob(str(tmp_path / "w" / "unreadable_checkpoints" / "4-*"))
  assert len(aside) == 1 and tree_snapshot(aside[0]) == bad  # moved, every byte kept
  assert checkpoint_steps(tmp_path / "w") == [2, 4, 6]
  # Steps 3 and 4 were trained again: their old records were dropped, not duplicated.
  assert jsonl_steps(tmp_path / "w" / "metrics.jsonl") == list(range(1, 7))
  evals = [json.loads(l)["step"] for l in open(tmp_path / "w" / "eval.jsonl", encoding="utf-8")]
  assert evals == sorted(set(evals)) and 4 not in evals[:-1]


def test_config_change_allowed_by_flag_or_allow_list_is_recorded(ring8_run, tmp_path,
                                                                 monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  _copy(ring8_run, tmp_path)
  # steps, logging and evaluation settings need no flag.
  code, _, err = run_main(capsys, _train(RING8, "w", "--config.steps=5", "--config.log_every=2",
                                         "--config.eval.batch_size=50"))
  assert code == 0, err
  code, _, err = run_main(capsys, _train(RING8, "w", "--config.steps=6", "--config.loss=hinge",
                                         "--allow-config-change"))
  assert code == 0, err
  assert json.loads((tmp_path / "w" / "config.json").read_text())["loss"] == "hinge"
  history = [json.loads(l) for l in
             (tmp_path / "w" / "config_history.jsonl").read_text().splitlines()]
  assert history[-1]["step"] == 5 and history[-1]["changes"]["loss"] == ["non_saturating", "hinge"]
  assert jsonl_steps(tmp_path / "w" / "metrics.jsonl") == [1, 2, 3, 4, 5, 6]


def test_stale_lock_of_a_dead_process_is_taken_over(ring8_run, tmp_path, monkeypatch, capsys,
                                                    caplog):
  monkeypatch.chdir(tmp_path)
  _copy(ring8_run, tmp_path)
  dead = subprocess.Popen(["true"])  # pylint: disable=consider-using-with
  dead.wait()
  (tmp_path / "w" / ".lock").write_text(json.dumps({"pid": dead.pid,
                                                    "host": socket.gethostname()}))
  with caplog.at_level("WARNING", logger="jaxgan"):
    code, _, err = run_main(capsys, _train(RING8, "w", "--config.steps=5"))
  assert code == 0, err
  assert any("stale lock" in r.getMessage() and str(dead.pid) in r.getMessage()
             for r in caplog.records), caplog.text
  assert not (tmp_path / "w" / ".lock").exists()  # released at the end


def test_lock_holds_the_owner_while_training(tmp_path):
  lock = workdir_lib.WorkdirLock(str(tmp_path / "w"))
  lock.acquire()
  owner = json.loads((tmp_path / "w" / ".lock").read_text())
  assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
  lock.release()
  assert not (tmp_path / "w" / ".lock").exists()


def test_trim_drops_records_past_the_checkpoint_and_torn_lines(tmp_path):
  path = tmp_path / "metrics.jsonl"
  lines = [json.dumps({"step": s, "d_loss": 1.0}) for s in (1, 2, 3, 4, 5)]
  path.write_text("\n".join(lines) + "\n" + '{"step": 6, "d_lo')
  assert workdir_lib.trim_jsonl(str(path), 3) == 3
  assert path.read_text() == "\n".join(lines[:3]) + "\n"
  assert workdir_lib.trim_jsonl(str(path), 3) == 0  # nothing past: the file is left alone


def test_debug_flag_prints_the_traceback(tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  (tmp_path / "w").write_text("a file")
  code, _, err = run_main(capsys, ["--debug", *_train(RING8, "w")])
  assert code == 1 and "Traceback" in err and len(error_lines(err)) == 1
  monkeypatch.setenv("JAXGAN_DEBUG", "1")
  code, _, err = run_main(capsys, _train(RING8, "w"))
  assert code == 1 and "Traceback" in err


def test_an_unexpected_exception_is_one_line_too(tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  _raise_at(monkeypatch, cli, "_cmd_train", KeyError("surprise"))
  code, out, err = run_main(capsys, _train(RING8, "w"))
  line = assert_one_line(code, out, err, ["internal error KeyError", "--debug"])
  assert "surprise" in line


# ---------------------------------------------------------------- the schema


def _config_files():
  return sorted(p for p in glob.glob(str(CONFIGS / "*.py")) if not p.endswith("__init__.py"))


def test_every_key_has_a_validation_rule():
  """A key added to base_config() or a config file without a rule in RULES fails here."""
  keys = set(config_lib._flat_keys(config_lib.base_config()))  # pylint: disable=protected-access
  for path in _config_files():
    keys |= set(config_lib._flat_keys(config_lib.load_config_file(path)))  # pylint: disable=protected-access
  missing = sorted(k for k in keys if config_lib.rule_for(k) is None)
  assert missing == []


@pytest.mark.parametrize("path", _config_files(), ids=lambda p: Path(p).stem)
def test_every_config_file_passes_its_rules(path):
  config_lib.check_keys(config_lib.load_config_file(path))


def test_a_key_without_a_rule_is_refused():
  config = config_lib.load_config_file(RING8)
  with config.unlocked():
    config.brand_new_knob = 3
  with pytest.raises(JaxganError, match="brand_new_knob.*no validation rule"):
    config_lib.check_keys(config)


# ---------------------------------------------------------------- kill -9


def test_kill_9_right_after_a_checkpoint_resumes_without_duplicate_logs(tmp_path):
  workdir = tmp_path / "w"
  args = [JAXGAN, *_train(RING8, str(workdir), "--config.steps=1000000",
                          "--config.checkpoint_every=7")]
  proc = subprocess.Popen(args, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                          stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 300  # compilation is slow on a loaded machine
    while not checkpoint_steps(workdir) and proc.poll() is None and time.time() < deadline:
      time.sleep(0.05)
    assert checkpoint_steps(workdir), "no checkpoint appeared"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.wait()
  assert (workdir / ".lock").exists()  # a stale lock: the next run must take it over
  saved = checkpoint_steps(workdir)[-1]
  # The logs reached the disk before the checkpoint did.
  assert set(range(1, saved + 1)) <= set(jsonl_steps(workdir / "metrics.jsonl"))
  final = saved + 3
  assert cli.main(_train(RING8, str(workdir), f"--config.steps={final}",
                         "--config.checkpoint_every=7")) == 0
  assert jsonl_steps(workdir / "metrics.jsonl") == list(range(1, final + 1))
  history = [json.loads(l) for l in (workdir / "config_history.jsonl").read_text().splitlines()]
  assert history[-1]["step"] == saved  # resumed from the checkpoint the kill left
  assert not (workdir / ".lock").exists()


def test_a_key_added_since_the_run_was_recorded_is_no_change_at_its_default(tmp_path):
  """A run recorded before an option existed resumes under a later jaxgan: the new key at its
  default (off) is the behaviour the run was trained with. Mutation caught: every key missing
  from config.json counted as a change (resume refused), or the default ignored (a new option
  turned on for a resumed run would pass unnoticed)."""
  from jaxgan.train import loop  # pylint: disable=g-import-not-at-top
  config = config_lib.load_config_file(os.path.join(CONFIGS, "dcgan_digits.py"))
  recorded = json.loads(config.to_json_best_effort())
  del recorded["label_smoothing"], recorded["top_k"]  # keys a later version added
  (tmp_path / "config.json").write_text(json.dumps(recorded), encoding="utf-8")
  assert loop.config_changes(str(tmp_path), config) == {}
  config.label_smoothing = 0.1
  assert loop.config_changes(str(tmp_path), config) == {"label_smoothing": [None, 0.1]}
  with pytest.raises(JaxganError, match=r"label_smoothing: None -> 0\.1"):
    loop.check_config_change(str(tmp_path), config, 4, allow=False)
  recorded["loss"] = "hinge"  # a key the run did record still counts
  (tmp_path / "config.json").write_text(json.dumps(recorded), encoding="utf-8")
  config.label_smoothing = 0.0
  assert loop.config_changes(str(tmp_path), config) == {"loss": ["hinge", "non_saturating"]}
