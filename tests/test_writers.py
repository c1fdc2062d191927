"""Metric writers: JSONL always, TensorBoard through clu where TensorFlow imports, else the
console; and the sample PNG grids a training run leaves in workdir/samples."""

from __future__ import annotations

import glob
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jaxgan import cli
from jaxgan.train import writers

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"

TINY_RING8 = [
    "--config.batch_size=8",
    "--config.generator.hidden=(16,16)",
    "--config.discriminator.hidden=(16,)",
    "--config.eval.num_samples=100",
    "--config.log_every=1",
]
TINY_DIGITS = [  # dcgan_digits
    "--config.batch_size=8",
    "--config.data.image_size=8",
    "--config.generator.base_features=4",
    "--config.discriminator.base_features=4",
    "--config.latent_dim=8",
    "--config.eval.num_samples=20",
    "--config.log_every=1",
]


def _records(path) -> list[dict]:
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f]


def _event_files(workdir) -> list[str]:
  return glob.glob(os.path.join(str(workdir), "tensorboard", "events.out.tfevents.*"))


# ---------------------------------------------------------------- JSONL and console


def test_jsonl_writer_lines_parse_with_step_and_values(tmp_path):
  path = tmp_path / "sub" / "metrics.jsonl"  # the folder is made
  writer = writers.JsonlWriter(str(path))
  writer.write_scalars(1, {"d_loss": np.float32(0.5), "g_loss": 1.25})
  writer.write_scalars(np.int64(2), {"d_loss": np.array(0.25), "hist": np.array([1.0, 2.0])})
  writer.write_images(2, {"samples": np.zeros((1, 4, 4, 3), np.uint8)})  # ignored: numbers only
  writer.flush()
  writer.close()
  records = _records(path)
  assert [r["step"] for r in records] == [1, 2]
  assert records[0]["d_loss"] == 0.5 and records[0]["g_loss"] == 1.25
  assert records[1]["d_loss"] == 0.25 and records[1]["hist"] == [1.0, 2.0]
  assert all(isinstance(r["time"], float) for r in records)

  # A resumed run appends to the same file rather than starting it again.
  again = writers.JsonlWriter(str(path))
  again.write_scalars(3, {"d_loss": 0.125})
  again.close()
  assert [r["step"] for r in _records(path)] == [1, 2, 3]


def test_console_writer_prints_one_line_per_write():
  stream = io.StringIO()
  writer = writers.ConsoleWriter(stream)
  writer.write_scalars(7, {"g_loss": np.float32(0.5), "d_loss": 1.0 / 3.0, "count": 3})
  writer.write_images(7, {"samples": np.zeros((1, 4, 4, 3), np.uint8)})
  writer.flush()
  lines = stream.getvalue().splitlines()
  assert lines == ["[step 7] count=3 d_loss=0.3333 g_loss=0.5"]


# ---------------------------------------------------------------- make_writer


def test_make_writer_with_tensorflow_writes_tensorboard_events(tmp_path):
  assert writers.tensorflow_available()  # TensorFlow is installed in the development venv
  console = io.StringIO()
  writer = writers.make_writer(str(tmp_path), tensorboard=True, console=console)
  writer.write_scalars(1, {"d_loss": 0.5, "g_loss": 2.0})
  writer.write_scalars(2, {"d_loss": 0.25, "g_loss": 1.5})
  writer.write_images(2, {"samples": np.full((1, 8, 8, 3), 128, np.uint8)})
  writer.flush()
  writer.close()

  assert [r["step"] for r in _records(tmp_path / "metrics.jsonl")] == [1, 2]
  assert console.getvalue().splitlines() == ["[step 1] d_loss=0.5 g_loss=2",
                                             "[step 2] d_loss=0.25 g_loss=1.5"]
  assert len(_event_files(tmp_path)) >= 1

  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  from tensorboard.util import tensor_util  # pylint: disable=g-import-not-at-top
  events = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard"),
                                              size_guidance={"tensors": 0})
  events.Reload()
  assert {"d_loss", "g_loss", "samples"} <= set(events.Tags()["tensors"])
  d_loss = {e.step: float(tensor_util.make_ndarray(e.tensor_proto))
            for e in events.Tensors("d_loss")}
  assert d_loss == {1: 0.5, 2: 0.25}


def test_make_writer_without_tensorboard_flag(tmp_path):
  console = io.StringIO()
  writer = writers.make_writer(str(tmp_path), tensorboard=False, console=console)
  writer.write_scalars(4, {"d_loss": 0.5})
  writer.close()
  assert not (tmp_path / "tensorboard").exists()
  assert "[step 4] d_loss=0.5" in console.getvalue()
  assert _records(tmp_path / "metrics.jsonl")[0]["d_loss"] == 0.5


def test_make_writer_falls_back_when_tensorflow_is_missing(tmp_path, monkeypatch):
  monkeypatch.setattr(writers, "tensorflow_available", lambda: False)
  console = io.StringIO()
  writer = writers.make_writer(str(tmp_path), tensorboard=True, console=console)
  writer.write_scalars(3, {"g_loss": 1.5})
  writer.write_images(3, {"samples": np.zeros((1, 4, 4, 1), np.uint8)})
  writer.close()
  assert not (tmp_path / "tensorboard").exists()
  assert console.getvalue().splitlines() == ["[step 3] g_loss=1.5"]
  assert _records(tmp_path / "metrics.jsonl")[0]["g_loss"] == 1.5


def test_training_without_tensorflow_uses_jsonl_and_console(tmp_path):
  """A TF-free install: `import tensorflow` fails, clu's writers are unavailable."""
  workdir = tmp_path / "w"
  code = (
      "import sys\n"
      "sys.modules['tensorflow'] = None  # `import tensorflow` now raises ImportError\n"
      "from jaxgan import cli\n"
      "from jaxgan.train import writers\n"
      "assert not writers.tensorflow_available()\n"
      f"code = cli.main({['train', '--config', str(CONFIGS / 'gan_ring8.py'), '--workdir', str(workdir), *TINY_RING8, '--config.steps=3', '--config.sample_every=2']!r})\n"
      "assert sys.modules['tensorflow'] is None\n"
      "sys.exit(code)\n"
  )
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env["JAX_PLATFORMS"] = "cpu"
  proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                        timeout=300, check=False)
  assert proc.returncode == 0, proc.stderr
  assert "Traceback" not in proc.stderr
  assert not (workdir / "tensorboard").exists()
  for step in (1, 2, 3):
    assert f"[step {step}] " in proc.stderr, proc.stderr
  steps = [r["step"] for r in _records(workdir / "metrics.jsonl") if "d_loss" in r]
  assert steps == [1, 2, 3]
  assert sorted(os.listdir(workdir / "samples")) == ["step_0000002.png", "step_0000003.png"]


# ---------------------------------------------------------------- sample grids


def test_training_writes_png_grids_and_tensorboard(tmp_path):
  workdir = tmp_path / "w"
  # With TensorBoard on (the default), so clu's image summaries are exercised too.
  code = cli.main(["train", "--config", str(CONFIGS / "dcgan_digits.py"), "--workdir",
                   str(workdir), *TINY_DIGITS, "--config.steps=4", "--config.sample_every=2",
                   "--config.sample_grid=3"])
  assert code == 0
  assert sorted(os.listdir(workdir / "samples")) == ["step_0000002.png", "step_0000004.png"]
  with Image.open(workdir / "samples" / "step_0000004.png") as image:
    assert image.mode == "L"  # one channel stays gray
    grid = np.asarray(image)
  assert grid.shape == (3 * (8 + 1) + 1, 3 * (8 + 1) + 1)  # 3x3 images of 8x8, 1-pixel borders
  cells = [grid[1 + 9 * r:9 * r + 9, 1 + 9 * c:9 * c + 9] for r in range(3) for c in range(3)]
  assert all(cell.std() > 0 for cell in cells)  # every cell holds a generated image
  assert len({cell.tobytes() for cell in cells}) == 9  # from 9 different latents
  assert len(_event_files(workdir)) >= 1


def test_ring8_sample_picture_is_a_scatter_over_the_modes(tmp_path):
  workdir = tmp_path / "w"
  code = cli.main(["train", "--config", str(CONFIGS / "gan_ring8.py"), "--workdir", str(workdir),
                   "--no-tensorboard", *TINY_RING8, "--config.steps=2"])
  assert code == 0
  assert os.listdir(workdir / "samples") == ["step_0000002.png"]
  with Image.open(workdir / "samples" / "step_0000002.png") as image:
    picture = np.asarray(image.convert("RGB"))
  red = np.all(picture == (220, 30, 30), axis=-1)
  black = np.all(picture == 0, axis=-1)
  assert red.sum() >= 8 * 9  # eight mode markers
  assert black.sum() > 0  # the generated points
