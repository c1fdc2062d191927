"""BigGAN/SAGAN scaling measurements: train-step time over forced CPU devices, and on an
accelerator, images/sec with model-FLOPs utilisation from XLA's cost analysis.

  # CPU: the step time of a config with 1, 2, 4, 8 forced host devices (one subprocess each,
  # XLA_FLAGS=--xla_force_host_platform_device_count=N), same global batch.
  python benchmarks/scaling.py devices [--config biggan_digits] [--devices 1,2,4,8]
      [--steps 20] [--config.KEY=VALUE ...]

  # FLOPs of one step from shapes alone (XLA's cost analysis of the lowered step; no compile).
  python benchmarks/scaling.py flops [--config biggan_imagenet128] [--num-classes 1000]
      [--config.batch_size=256 --config.grad_accum_steps=1 ...]

  # Accelerator (or CPU): images/sec and MFU of one config's train step on all local devices.
  python benchmarks/scaling.py mfu [--config biggan_imagenet128] [--steps 10]
      [--config.batch_size=256 --config.grad_accum_steps=1 ...]

FLOPs are XLA's own count for the compiled train step (`compiled.cost_analysis()['flops']`: the
whole step, n_critic D updates and the G update, every micro-batch), i.e. model FLOPs as the
compiler sees them, not a hand count; the compiled SPMD program is one device's, so its count
is per device and the step's total is that times the number of devices. MFU = FLOPs per step / step time / (peak FLOP/s per
device x devices), with the peak taken from DEVICE_PEAK_TFLOPS by device kind and compute
dtype (dense, no sparsity; vendor data sheets). Data sets that are not on the machine (tfds
ImageNet, CIFAR-10) are replaced by random batches of the config's shape: the step is the
config's, only the pixels differ (and the stand-in's 10 classes make the class-embedding tables
smaller, which changes no FLOPs that matter: embeddings are lookups). One JSON object per line on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Dense peak TFLOP/s per device (per chip), by a substring of jax's device_kind.
DEVICE_PEAK_TFLOPS = {
    # NVIDIA, SXM parts (tensor cores; float32 means TF32 tensor-core matmuls, which XLA uses
    # for float32 convolutions/matmuls by default on Ampere and later).
    "H200": {"bfloat16": 989.0, "float32": 494.5},
    "H100": {"bfloat16": 989.0, "float32": 494.5},
    "A100": {"bfloat16": 312.0, "float32": 156.0},
    "L4": {"bfloat16": 121.0, "float32": 60.0},
    "V100": {"bfloat16": 125.0, "float32": 15.7},  # no bf16 tensor cores: fp16 figure
    # Google TPUs (bf16 MXU; float32 matmuls run as multi-pass bf16 by default).
    "TPU v6": {"bfloat16": 918.0, "float32": 918.0},
    "TPU v5p": {"bfloat16": 459.0, "float32": 459.0},
    "TPU v5 lite": {"bfloat16": 197.0, "float32": 197.0},
    "TPU v5e": {"bfloat16": 197.0, "float32": 197.0},
    "TPU v4": {"bfloat16": 275.0, "float32": 275.0},
    "TPU v3": {"bfloat16": 123.0, "float32": 123.0},
}


def log(*args):
  print(*args, file=sys.stderr, flush=True)


def peak_tflops(device_kind: str, dtype: str):
  for key, peaks in DEVICE_PEAK_TFLOPS.items():
    if key.lower() in device_kind.lower():
      return peaks[dtype]
  return None  # CPUs and unknown parts: no MFU


def _overrides(extra: list[str]) -> dict[str, str]:
  out = {}
  for arg in extra:
    if not arg.startswith("--config.") or "=" not in arg:
      raise SystemExit(f"unrecognised argument {arg!r} (overrides look like --config.KEY=VALUE)")
    key, value = arg[len("--config."):].split("=", 1)
    out[key] = value
  return out


def _experiment(config_name: str, overrides: dict[str, str]):
  sys.path.insert(0, ROOT)
  from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=g-import-not-at-top
  config = apply_overrides(load_config_file(os.path.join(ROOT, "configs", config_name + ".py")),
                           overrides)
  stand_in = not config.data.name in ("digits", "ring8", "grid25") and "data.name" not in overrides
  if stand_in:  # only the step is measured: the embedded digits stand in at the config's shape
    apply_overrides(config, {"data.name": "digits"})
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  return config, Experiment(config), stand_in


def _random_batch(experiment):
  """A global batch of the config's shape ([n_critic, B, H, W, C] images, labels)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  config, info = experiment.config, experiment.info
  n = experiment.trainer.real_batches_per_step
  local = config.batch_size // jax.process_count()
  rng = np.random.default_rng(0)
  batches = []
  for _ in range(n):
    b = {"image": rng.uniform(-1, 1, (local,) + tuple(info.shape)).astype(np.float32)}
    if info.num_classes:
      b["label"] = rng.integers(0, info.num_classes, (local,)).astype(np.int32)
    batches.append(b)
  return experiment.place_batch(batches)


def measure_step(config_name: str, overrides: dict[str, str], steps: int, warmup: int) -> dict:
  """Compile time, FLOPs (XLA cost analysis), median step time of one config, this process."""
  import jax  # pylint: disable=g-import-not-at-top
  config, experiment, stand_in = _experiment(config_name, overrides)
  state = experiment.init_state()
  batch = _random_batch(experiment)
  t0 = time.perf_counter()
  compiled = experiment.step_fn(1).lower(state, batch).compile()
  compile_s = time.perf_counter() - t0
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):  # older jax: one dict per computation
    cost = cost[0] if cost else {}
  # The compiled SPMD module is one device's program: its count is per device. Data parallel
  # splits the work evenly, so the step's total is that times the device count.
  flops_per_device = float(cost.get("flops", 0.0)) if cost else 0.0
  for _ in range(warmup):
    state, metrics = compiled(state, batch)
  jax.block_until_ready(state)
  times = []
  for _ in range(steps):
    t = time.perf_counter()
    state, metrics = compiled(state, batch)
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - t)
  median = statistics.median(times)
  device = jax.devices()[0]
  peak = peak_tflops(device.device_kind, config.compute_dtype)
  n = jax.device_count()
  flops = flops_per_device * n
  result = {
      "config": config_name, "overrides": overrides, "stand_in_data": stand_in,
      "platform": device.platform, "device_kind": device.device_kind, "devices": n,
      "processes": jax.process_count(), "batch_size": config.batch_size,
      "grad_accum_steps": config.grad_accum_steps, "n_critic": config.n_critic,
      "compute_dtype": config.compute_dtype, "compile_s": round(compile_s, 2),
      "step_s_median": median, "step_s_min": min(times), "steps": steps,
      "images_per_s": config.batch_size / median,  # generated images per G step
      "real_images_per_s": config.batch_size * config.n_critic / median,
      "flops_per_step": flops, "flops_per_step_per_device": flops_per_device,
      "achieved_tflops": flops / median / 1e12,
  }
  if peak:
    result["peak_tflops_per_device"] = peak
    result["mfu"] = flops / median / (peak * 1e12 * n)
  return result


def lowered_flops(config_name: str, overrides: dict[str, str], num_classes: int) -> dict:
  """XLA's cost analysis of the lowered (pre-optimisation) train step, without compiling or
  running it: the FLOPs of one step of the config at its batch size, from shapes alone (no data,
  no device memory), for one device holding the whole batch."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  sys.path.insert(0, ROOT)
  from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=g-import-not-at-top
  from jaxgan.data.base import DataInfo  # pylint: disable=g-import-not-at-top
  from jaxgan.train.adversarial import AdversarialTrainer  # pylint: disable=g-import-not-at-top
  from jaxgan.train.phases import compose_step  # pylint: disable=g-import-not-at-top
  config = apply_overrides(load_config_file(os.path.join(ROOT, "configs", config_name + ".py")),
                           overrides)
  size, channels = config.data.image_size, config.data.channels
  info = DataInfo(config.data.name, "images", (size, size, channels), num_classes)
  trainer = AdversarialTrainer(config, info)
  state = jax.eval_shape(trainer.init_state, jax.random.PRNGKey(0))
  n, b = config.n_critic, config.batch_size
  batch = {"image": jax.ShapeDtypeStruct((n, b, size, size, channels), jnp.float32)}
  if config.conditional:
    batch["label"] = jax.ShapeDtypeStruct((n, b), jnp.int32)
  t = time.perf_counter()
  phases = trainer.phases(lambda x: x)
  step = compose_step(phases, trainer.step_variant(phases, 1), trainer.num_keys)
  cost = jax.jit(step).lower(state, batch).cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  flops = float(cost.get("flops", 0.0))
  return {"config": config_name, "overrides": overrides, "num_classes": num_classes,
          "batch_size": b, "grad_accum_steps": config.grad_accum_steps, "n_critic": n,
          "lowered_flops_per_step": flops, "flops_per_generated_image": flops / b,
          "seconds": round(time.perf_counter() - t, 1)}


def _devices_run(args, overrides):
  results = []
  for n in [int(x) for x in args.devices.split(",")]:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}",
               JAX_PLATFORMS="cpu")
    cmd = [sys.executable, os.path.abspath(__file__), "_one", "--config", args.config,
           "--steps", str(args.steps), "--warmup", str(args.warmup)] + [
               f"--config.{k}={v}" for k, v in overrides.items()]
    log(f"{args.config}: {n} forced CPU device(s)...")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
      raise SystemExit(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    results.append(result)
    print(json.dumps(result), flush=True)
  base = results[0]["step_s_median"]
  summary = {"summary": "cpu_device_scaling", "config": args.config, "cpu_cores": os.cpu_count(),
             "step_s_median": {r["devices"]: round(r["step_s_median"], 4) for r in results},
             "relative_to_first": {r["devices"]: round(r["step_s_median"] / base, 3)
                                   for r in results}}
  print(json.dumps(summary), flush=True)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("mode", choices=["devices", "mfu", "flops", "_one"])
  parser.add_argument("--num-classes", type=int, default=1000, help="flops mode: classes")
  parser.add_argument("--config", default=None)
  parser.add_argument("--devices", default="1,2,4,8")
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--warmup", type=int, default=2)
  args, extra = parser.parse_known_args(argv)
  overrides = _overrides(extra)
  if args.mode == "devices":
    args.config = args.config or "biggan_digits"
    _devices_run(args, overrides)
  elif args.mode == "flops":
    args.config = args.config or "biggan_imagenet128"
    print(json.dumps(lowered_flops(args.config, overrides, args.num_classes)), flush=True)
  else:
    args.config = args.config or "biggan_imagenet128"
    result = measure_step(args.config, overrides, args.steps, args.warmup)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
  main()
