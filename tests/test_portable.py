"""Checkpoints move between machines: a run trained on N devices or processes resumes, samples
and evaluates on M, and a resume in a fresh process is bitwise.

Every run is the real console script in its own process, on forced CPU devices: a small DCGAN
on 16x16 digits (batch norm in G and D, so statistics over the global batch matter) with SGD,
so updates are proportional to gradients and float differences stay float-sized.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
JAXGAN = str(Path(sys.executable).with_name("jaxgan"))
DUMP = str(REPO / "tests" / "dump_checkpoint.py")

SMALL_DCGAN = [
    "--config", str(REPO / "configs" / "dcgan_digits.py"), "--no-tensorboard",
    "--config.batch_size=16", "--config.data.image_size=16", "--config.latent_dim=8",
    "--config.generator.base_features=16", "--config.discriminator.base_features=16",
    "--config.optimizer.g.name=sgd", "--config.optimizer.g.lr=0.05",
    "--config.optimizer.d.name=sgd", "--config.optimizer.d.lr=0.05",
    "--config.checkpoint_every=100", "--config.sample_every=0", "--config.log_every=5",
    "--config.sample_grid=2", "--config.eval.num_samples=16",
    # The plain DCGAN: with InfoGAN's code, 10 SGD steps amplify the rounding by which 2
    # processes differ from 8 devices past the tolerances below (3.7e-4 on a BN bias; after 2
    # steps 1.9e-7), so the comparisons would test the GAN's sensitivity, not the checkpoints.
    "--config.info_code.categories=0",
]


def _env(devices: int) -> dict:
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS=(os.environ.get("XLA_FLAGS", "")
                        + f" --xla_force_host_platform_device_count={devices}"))
  env.setdefault("JAXGAN_CACHE", str(Path.home() / ".cache" / "jaxgan"))
  return env


def _start(args: list[str], devices: int) -> subprocess.Popen:
  return subprocess.Popen(args, env=_env(devices), cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def _train(workdir, steps: int, devices: int, *extra: str) -> subprocess.Popen:
  return _start([JAXGAN, "train", "--workdir", str(workdir), *SMALL_DCGAN,
                 f"--config.steps={steps}", *extra], devices)


def _wait(*procs: subprocess.Popen):
  for p in procs:
    out = p.communicate(timeout=900)[0]
    assert p.returncode == 0, out[-3000:]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _distributed(port: int, process: int) -> list[str]:
  return [f"--config.distributed.coordinator_address=127.0.0.1:{port}",
          "--config.distributed.num_processes=2", f"--config.distributed.process_id={process}"]


FIRST, TOTAL = 6, 10  # steps before and after the move


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("portable")
  w = {name: root / name for name in ("w8", "w8_shard", "p2", "straight", "resumed")}
  port = _free_port()
  # FIRST steps on 8 devices (replicated, and FSDP-sharded), on 2 processes of 1 device each;
  # TOTAL steps straight, and FIRST (to resume) on 1 device.
  _wait(_train(w["w8"], FIRST, 8), _train(w["w8_shard"], FIRST, 8, "--config.shard_params=true"),
        *[_train(w["p2"], FIRST, 1, *_distributed(port, i)) for i in range(2)],
        _train(w["straight"], TOTAL, 1), _train(w["resumed"], FIRST, 1))
  for src, dst in (("w8", "w8_on8"), ("w8", "w8_on2"), ("w8_shard", "shard_on8"),
                   ("w8_shard", "shard_on2"), ("p2", "p2_on1")):
    shutil.copytree(root / src, root / dst)
    w[dst] = root / dst
  samples = {n: root / f"sample{n}.npz" for n in (1, 8)}
  shard = "--config.shard_params=true"
  _wait(_train(w["w8_on8"], TOTAL, 8), _train(w["w8_on2"], TOTAL, 2),
        _train(w["shard_on8"], TOTAL, 8, shard), _train(w["shard_on2"], TOTAL, 2, shard),
        _train(w["p2_on1"], TOTAL, 1), _train(w["resumed"], TOTAL, 1),
        *[_start([JAXGAN, "sample", "--workdir", str(w["w8"]), "--num", "16", "--out",
                  str(samples[n])], n) for n in (1, 8)])
  dumps, procs = {}, []
  for name in ("w8_on8", "w8_on2", "shard_on8", "shard_on2", "p2_on1", "straight", "resumed"):
    dumps[name] = root / f"{name}.npz"
    procs.append(_start([sys.executable, DUMP, str(w[name]), str(TOTAL), str(dumps[name])], 1))
  _wait(*procs)
  states = {}
  for name, path in dumps.items():
    with np.load(path) as f:
      states[name] = dict(f)
  loaded = {}
  for n, path in samples.items():
    with np.load(path) as f:
      loaded[n] = dict(f)
  return w, states, loaded


def _assert_states_close(a: dict, b: dict, **tol):
  keys = sorted(k for k in a if k != "num_devices")
  assert keys == sorted(k for k in b if k != "num_devices")
  assert any("batch_stats" in k for k in keys)
  for k in keys:
    np.testing.assert_allclose(a[k], b[k], err_msg=k, **tol)


def test_sampling_on_1_device_equals_sampling_on_8(runs):
  _, _, samples = runs
  assert samples[1]["samples"].shape == (16, 16, 16, 1)
  np.testing.assert_array_equal(samples[1]["samples"], samples[8]["samples"])


def test_resumed_on_2_devices_continues_the_8_device_run(runs):
  _, states, _ = runs
  assert int(states["w8_on2"][".step"]) == int(states["w8_on8"][".step"]) == TOTAL
  # The same global batches: the data position is the same number of batches.
  assert (int(states["w8_on2"]["data_position"]) == int(states["w8_on8"]["data_position"])
          == TOTAL)
  _assert_states_close(states["w8_on2"], states["w8_on8"], rtol=2e-4, atol=2e-5)


def test_fsdp_sharded_run_resumes_on_2_devices(runs):
  workdir, states, _ = runs
  _assert_states_close(states["shard_on2"], states["shard_on8"], rtol=2e-4, atol=2e-5)
  history = (workdir["shard_on2"] / "config_history.jsonl").read_text().splitlines()
  assert json.loads(history[0])["changes"] == "started"


def test_two_process_run_resumes_in_one_process(runs):
  _, states, _ = runs
  _assert_states_close(states["p2_on1"], states["w8_on8"], rtol=2e-4, atol=2e-5)


def test_resume_in_a_fresh_process_is_bitwise(runs):
  workdir, states, _ = runs
  straight, resumed = states["straight"], states["resumed"]
  assert sorted(straight) == sorted(resumed)
  for k in straight:
    assert straight[k].tobytes() == resumed[k].tobytes(), k
  # and the resume was recorded: config.json keeps the latest, the history the change.
  config = json.loads((workdir["resumed"] / "config.json").read_text())
  assert config["steps"] == TOTAL
  history = [json.loads(line) for line in
             (workdir["resumed"] / "config_history.jsonl").read_text().splitlines()]
  assert [h["step"] for h in history] == [0, FIRST]
  assert history[1]["changes"] == {"steps": [FIRST, TOTAL]}
