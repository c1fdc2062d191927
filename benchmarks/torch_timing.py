"""Timing of a PyTorch training step for the baselines (torch_dcgan.py, torch_biggan.py): the same
protocol as throughput.py's for jaxgan (a first step, warm-up steps, then timed steps each ended
by a device synchronisation), and the settings a baseline runs in.

Settings (`--setting`, comma-separated words):
  fp32           float32 (on CUDA with TF32 matmuls and convolutions allowed, as XLA's default
                 precision on GPUs uses them)
  bf16           torch.autocast(bfloat16) around the forward passes and losses
  channels_last  NHWC memory format for the networks and the batch (jaxgan's layout)
  compile        torch.compile of G and D (falls back to eager, and says so, where it fails)
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time

import torch

SETTING_WORDS = ("fp32", "bf16", "channels_last", "compile")


def parse_setting(text: str) -> dict:
  words = [w for w in text.replace("+", ",").split(",") if w]
  bad = [w for w in words if w not in SETTING_WORDS]
  if bad or ("fp32" in words and "bf16" in words):
    raise SystemExit(f"unknown or conflicting setting {text!r}: words from {SETTING_WORDS}, one "
                     "of fp32 / bf16")
  return {"bf16": "bf16" in words, "channels_last": "channels_last" in words,
          "compile": "compile" in words, "name": "+".join(words) or "fp32"}


def default_threads() -> int:
  """os.cpu_count(), or the CPUs this process may run on where that is fewer (taskset)."""
  try:
    return min(os.cpu_count(), len(os.sched_getaffinity(0)))
  except AttributeError:
    return os.cpu_count()


def prepare_device(device: str):
  dev = torch.device(device)
  if dev.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    torch.cuda.reset_peak_memory_stats(dev)
  return dev


def autocast(device, setting):
  if not setting["bf16"]:
    return contextlib.nullcontext()
  return torch.autocast(device.type, dtype=torch.bfloat16)


def maybe_compile(module, setting, notes: list):
  if not setting["compile"]:
    return module
  try:
    return torch.compile(module)
  except Exception as e:  # pylint: disable=broad-except
    notes.append(f"torch.compile failed, eager instead: {type(e).__name__}: {e}")
    return module


def sync(device):
  if device.type == "cuda":
    torch.cuda.synchronize(device)


def time_step(step, device, steps=None, warmup=3, min_steps=5, min_time=10.0, max_time=60.0):
  """Runs step() (which returns loss tensors) as throughput.py times jaxgan's step; returns
  (first step seconds, per-step seconds, per-step CPU seconds, the last step's losses)."""
  t = time.perf_counter()
  out = step()
  sync(device)
  first = time.perf_counter() - t
  for _ in range(warmup):
    out = step()
  sync(device)
  times, cpu_times, start = [], [], time.perf_counter()
  while True:
    t, c = time.perf_counter(), time.process_time()
    out = step()
    sync(device)
    times.append(time.perf_counter() - t)
    cpu_times.append(time.process_time() - c)
    elapsed = time.perf_counter() - start
    if steps:
      if len(times) >= steps:
        break
    elif (len(times) >= min_steps and elapsed >= min_time) or (elapsed >= max_time and
                                                                len(times) >= 2):
      break
  return first, times, cpu_times, out


def summary(first, times, cpu_times, batch_size, n_critic, device, warmup) -> dict:
  step_time = statistics.median(times)
  result = {
      "first_step_s": round(first, 4),
      "warmup_steps": warmup,
      "steps": len(times),
      "step_time_s": round(step_time, 6),
      "step_time_mean_s": round(statistics.fmean(times), 6),
      "step_time_min_s": round(min(times), 6),
      "cpu_time_per_step_s": round(statistics.median(cpu_times), 6),
      "images_per_s": round(batch_size / step_time, 2),
      "real_images_per_s": round(batch_size * n_critic / step_time, 2),
      "device": str(device),
  }
  if device.type == "cuda":
    result["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    result["device_name"] = torch.cuda.get_device_name(device)
  return result


def measure(prepared, config, steps, warmup, min_steps, min_time, max_time) -> dict:
  """Times a baseline's prepared (step, device, meta) and returns meta with the timing summary:
  the one protocol torch_dcgan.py and torch_biggan.py share."""
  step, dev, meta = prepared
  first, times, cpu_times, (d_loss, g_loss) = time_step(
      step, dev, steps, warmup, min_steps, min_time, max_time)
  assert math.isfinite(float(d_loss)) and math.isfinite(float(g_loss))
  return {**meta, **summary(first, times, cpu_times, config.batch_size, config.n_critic, dev,
                            warmup)}
