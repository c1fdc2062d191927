"""Metric writers: a JSONL file and the console always, TensorBoard through clu where
TensorFlow is installed.

clu's writers import TensorFlow, which accelerator images and TF-free installs lack; the JSONL
file and console writers below keep clu's writer interface so the loop does not care which it has.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import numpy as np

log = logging.getLogger("jaxgan")


def _scalar(v):
  v = np.asarray(v)
  return v.item() if v.size == 1 else v.tolist()


class JsonlWriter:
  """One JSON object per write: {"step": N, "time": t, name: value, ...} in DIR/metrics.jsonl."""

  def __init__(self, path: str):
    self.path = path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    self._file = open(path, "a", encoding="utf-8")

  def write_scalars(self, step: int, scalars: dict):
    record = {"step": int(step), "time": time.time(),
              **{k: _scalar(v) for k, v in scalars.items()}}
    self._file.write(json.dumps(record) + "\n")

  def write_images(self, step, images):
    del step, images  # PNGs go to DIR/samples; the JSONL file holds numbers only

  def flush(self):
    # Called before every checkpoint: after a crash the log covers what the checkpoint does.
    self._file.flush()
    os.fsync(self._file.fileno())

  def close(self):
    self._file.close()


class ConsoleWriter:
  """Scalars as one human-readable line on stderr."""

  def __init__(self, stream=None):
    self.stream = stream or sys.stderr

  def write_scalars(self, step: int, scalars: dict):
    parts = []
    for k, v in sorted(scalars.items()):
      v = _scalar(v)
      parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    print(f"[step {int(step)}] " + " ".join(parts), file=self.stream, flush=True)

  def write_images(self, step, images):
    del step, images

  def flush(self):
    self.stream.flush()

  def close(self):
    pass


class MultiWriter:
  def __init__(self, writers):
    self.writers = list(writers)

  def write_scalars(self, step, scalars):
    for w in self.writers:
      w.write_scalars(step, scalars)

  def write_images(self, step, images):
    for w in self.writers:
      w.write_images(step, images)

  def flush(self):
    for w in self.writers:
      w.flush()

  def close(self):
    for w in self.writers:
      w.close()


def tensorflow_available() -> bool:
  try:
    from clu import metric_writers  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    return False
  return True


def make_writer(workdir: str, tensorboard: bool = True, console=None):
  """JSONL and console always; clu's TensorBoard writer too if asked for and TF is there."""
  writers = [JsonlWriter(os.path.join(workdir, "metrics.jsonl")), ConsoleWriter(console)]
  if tensorboard and tensorflow_available():
    from clu import metric_writers  # pylint: disable=g-import-not-at-top
    writers.append(metric_writers.SummaryWriter(os.path.join(workdir, "tensorboard")))
  return MultiWriter(writers)
