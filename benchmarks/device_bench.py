"""The accelerator benchmarks (run by benchmarks/device.sh): one process, one JSON file.

Sections, in this order (each one skipped, and said so in the JSON, once --budget-s is spent):

  dcgan64    dcgan_celeba64's networks and step at batch 128, 64x64x3: jaxgan (float32 and
             bfloat16 compute) against benchmarks/torch_dcgan.py in each --torch-settings
             setting, interleaved (jaxgan, PyTorch, jaxgan, PyTorch, ...) --repeats times.
  biggan128  biggan_imagenet128 at --biggan-batch per device (one micro-batch, the config's 2 D
             steps, orthogonal regulariser, EMA): jaxgan against benchmarks/torch_biggan.py
             (BigGAN-PyTorch's G and D, parameter counts asserted equal), interleaved as above;
             the model FLOPs utilisation of the bfloat16 step (XLA's cost analysis of the
             compiled step / median step time / the device's peak bfloat16 rate).
  memory     XLA's memory analysis of the bfloat16 BigGAN-128 step at --biggan-batch with and
             without config.remat, and the largest batch that fits the device with and without
             it: memory is linear in the batch (fitted from two compiled sizes), the estimate
             is then compiled to check it.
  style      StyleGAN2 at 256x256 (stylegan2_ffhq's networks) and ProGAN at its top stage
             (progan_celeba_hq, 1024x1024), jaxgan alone (their PyTorch code needs custom ops).

Everything runs on synthetic batches of the configs' shapes (data loading is not measured, as
in throughput.py): each jaxgan step is the engine's own step (the trainer's phases composed
and jitted, state donated), compiled ahead of time and timed as throughput.py times it.

  python3 benchmarks/device_bench.py --out results.json [--tiny] [--budget-s 420]

--tiny: tiny networks and batches, one timed step each (the CPU test of the whole script).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (HERE, ROOT):
  if _path not in sys.path:
    sys.path.insert(0, _path)

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax.numpy as jnp  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

import throughput  # pylint: disable=wrong-import-position
from scaling import peak_tflops  # pylint: disable=wrong-import-position
from jaxgan.config import apply_overrides, load_config_file, validate  # pylint: disable=wrong-import-position
from jaxgan.data.base import DataInfo  # pylint: disable=wrong-import-position
from jaxgan.nn import backend  # pylint: disable=wrong-import-position
from jaxgan.train.phases import compose_step  # pylint: disable=wrong-import-position

GIB = 2**30

# The networks of each section at full size, and tiny stand-ins of the same code (--tiny).
FULL = {
    "dcgan64": ("dcgan_celeba64", {}),
    "biggan128": ("biggan_imagenet128", {"grad_accum_steps": "1"}),
    "stylegan2_256": ("stylegan2_ffhq", {"data.image_size": "256"}),
    "progan_top": ("progan_celeba_hq", {}),
}
TINY = {
    "dcgan64": ("dcgan_celeba64", {"data.image_size": "16", "batch_size": "8",
                                   "generator.base_features": "8",
                                   "discriminator.base_features": "8"}),
    "biggan128": ("biggan_imagenet128", {
        "grad_accum_steps": "1", "data.image_size": "16", "latent_dim": "9",
        "generator.ch": "2", "generator.channel_multipliers": "(4, 4, 4)",
        "generator.attention_resolutions": "(8,)", "generator.shared_dim": "4",
        "discriminator.ch": "2", "discriminator.channel_multipliers": "(4, 4, 4)",
        "discriminator.downsample": "(True, True, False)",
        "discriminator.attention_resolutions": "(8,)"}),
    "stylegan2_256": ("stylegan2_ffhq", {"data.image_size": "16", "batch_size": "4",
                                         "generator.fmap_base": "32", "generator.fmap_max": "8",
                                         "generator.w_dim": "8",
                                         "generator.mapping_features": "8", "latent_dim": "8",
                                         "discriminator.fmap_base": "32",
                                         "discriminator.fmap_max": "8"}),
    "progan_top": ("progan_celeba_hq", {"data.image_size": "8", "batch_size": "4",
                                        "growth.batch_sizes": "()",
                                        "generator.fmap_base": "32",
                                        "generator.fmap_max": "8", "latent_dim": "8",
                                        "discriminator.fmap_base": "32",
                                        "discriminator.fmap_max": "8"}),
}


def log(*args):
  print(*args, file=sys.stderr, flush=True)


def load(name, overrides):
  config = load_config_file(os.path.join(ROOT, "configs", name + ".py"))
  return apply_overrides(config, dict(overrides))


def data_info(config) -> DataInfo:
  size, channels = config.data.image_size, config.data.channels
  classes = 1000 if "imagenet" in config.data.name else 0
  return DataInfo(config.data.name, "images", (size, size, channels),
                  classes if config.conditional else 0)


def trainer_of(config, info):
  from jaxgan.train.experiment import TRAINERS  # pylint: disable=g-import-not-at-top
  validate(config, num_devices=1)
  backend.set_conv_impl(config.conv_impl)
  return TRAINERS[config.trainer](config, info)


def memory_of(compiled) -> dict:
  """XLA's memory analysis of a compiled step: peak = arguments + outputs - aliased (the donated
  state) + temporaries + code, as jaxgan's ahead-of-time memory check counts it."""
  stats = compiled.memory_analysis()
  if stats is None:
    return {}
  peak = (stats.argument_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes
          + stats.temp_size_in_bytes + stats.generated_code_size_in_bytes)
  return {"xla_peak_gib": round(peak / GIB, 3),
          "xla_temp_gib": round(stats.temp_size_in_bytes / GIB, 3),
          "xla_argument_gib": round(stats.argument_size_in_bytes / GIB, 3)}


def flops_of(compiled) -> float | None:
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else None
  return float(cost["flops"]) if cost and "flops" in cost else None


def device_peak_gib():
  """The process's peak of jax's device allocator so far (accelerators only)."""
  stats = jax.local_devices()[0].memory_stats() or {}
  peak = stats.get("peak_bytes_in_use")
  return None if peak is None else round(peak / GIB, 3)


def device_memory_limit() -> tuple[int | None, str]:
  """Bytes a step may use on the device: the accelerator's memory (as PyTorch reads it, else
  jax's allocator limit), or the host's available memory on the CPU."""
  device = jax.local_devices()[0]
  if device.platform == "cpu":
    from jaxgan.train.experiment import _host_available_memory  # pylint: disable=g-import-not-at-top
    return _host_available_memory(), "host available memory"
  try:
    import torch  # pylint: disable=g-import-not-at-top
    if torch.cuda.is_available():
      return torch.cuda.get_device_properties(0).total_memory, "device total memory (torch)"
  except ImportError:
    pass
  stats = device.memory_stats() or {}
  return stats.get("bytes_limit"), "jax allocator bytes_limit"


class JaxBench:
  """The engine's step of a config on a synthetic batch: compiled ahead of time, then timed."""

  def __init__(self, name, config, warmup):
    self.name, self.config = name, config
    self.info = data_info(config)
    trainer = trainer_of(config, self.info)
    self.iteration = throughput.timed_iteration(types.SimpleNamespace(trainer=trainer))
    state = jax.jit(trainer.init_state)(jax.random.PRNGKey(config.seed))
    growth = getattr(trainer, "growth", None)
    self.batch_size = config.batch_size
    if growth is not None:  # ProGAN: the top stage's stable step, as throughput.Bench
      top = growth.num_stages - 1
      self.batch_size = trainer.stage_batch_size(top)
      extra = state.extra
      state = state.replace(step=state.step * 0 + self.iteration, extra={
          **extra, "stage": extra["stage"] * 0 + top, "alpha": extra["alpha"] * 0 + 1.0})
    phases = trainer.phases(lambda x: x)
    variant = trainer.step_variant(phases, self.iteration)
    n = trainer.real_batches(self.iteration)
    rng = np.random.default_rng(0)
    batch = {"image": jnp.asarray(rng.uniform(-1, 1, (n, config.batch_size) + self.info.shape),
                                  jnp.float32)}
    if self.info.num_classes:
      batch["label"] = jnp.asarray(rng.integers(0, self.info.num_classes,
                                                (n, config.batch_size)), jnp.int32)
    step = jax.jit(compose_step(phases, variant, trainer.num_keys), donate_argnums=0)
    t = time.perf_counter()
    lowered = step.lower(state, batch)
    self.lower_s = time.perf_counter() - t
    t = time.perf_counter()
    self.step = lowered.compile()
    self.compile_s = time.perf_counter() - t
    self.flops = flops_of(self.step)
    self.memory = memory_of(self.step)
    self.counts = throughput.param_counts(types.SimpleNamespace(abstract_state=state))
    self.batch = batch
    t = time.perf_counter()
    self.state, metrics = self.step(state, batch)
    jax.block_until_ready((self.state, metrics))
    self.first_run_s = time.perf_counter() - t
    for _ in range(warmup):
      self.state, metrics = self.step(self.state, batch)
    jax.block_until_ready((self.state, metrics))
    self.losses = {k: float(v) for k, v in metrics.items() if np.ndim(v) == 0}

  def measure(self, args) -> dict:
    self.state, times, cpu_times = throughput.time_steps(
        self.step, self.state, self.batch, args.steps, args.min_steps, args.min_time,
        args.max_time)
    return throughput.summarize(times, cpu_times, self.batch_size, self.config.n_critic)

  def record(self) -> dict:
    return {"framework": "jaxgan", "compute_dtype": self.config.compute_dtype,
            "remat": self.config.remat, "batch_size": self.batch_size,
            "n_critic": self.config.n_critic, "image_shape": list(self.info.shape),
            "param_counts": self.counts, "lower_s": round(self.lower_s, 2),
            "compile_s": round(self.compile_s, 2), "first_run_s": round(self.first_run_s, 3),
            "xla_flops_per_step": self.flops, **self.memory, "last_metrics": self.losses}

  def close(self):
    del self.state, self.batch, self.step


def median_of(runs, key):
  return statistics.median(r[key] for r in runs)


def compare(section, args, jax_benches, torch_prepare):
  """jaxgan (each precision) and PyTorch (each setting) interleaved --repeats times; medians,
  ratios of images/s to PyTorch's best setting and to the best of the same precision."""
  import torch  # pylint: disable=g-import-not-at-top
  from torch_timing import summary, time_step  # pylint: disable=g-import-not-at-top
  out = {"jaxgan": {}, "pytorch": {}}
  jax_runs = {dtype: [] for dtype in jax_benches}
  for setting in [s for s in args.torch_settings.split(";") if s]:
    log(f"[{section}] pytorch {setting}: building")
    try:
      step, dev, meta = torch_prepare(setting)
    except Exception as e:  # pylint: disable=broad-except
      log(f"[{section}] pytorch {setting} failed: {type(e).__name__}: {e}")
      out["pytorch"][setting] = {"error": f"{type(e).__name__}: {e}"}
      continue
    for dtype in jax_benches:
      assert meta["param_counts"] == jax_benches[dtype].counts, (meta["param_counts"],
                                                                 jax_benches[dtype].counts)
    runs, first = [], None
    for r in range(args.repeats):
      for dtype, bench in jax_benches.items():
        log(f"[{section}] jaxgan {dtype} run {len(jax_runs[dtype]) + 1}")
        jax_runs[dtype].append(bench.measure(args))
      log(f"[{section}] pytorch {setting} run {r + 1}/{args.repeats}")
      f, times, cpu_times, losses = time_step(step, dev, args.steps, 0 if r else args.warmup,
                                              args.min_steps, args.min_time, args.max_time)
      first = f if first is None else first
      assert all(math.isfinite(float(l)) for l in losses)
      runs.append(summary(f, times, cpu_times, meta["batch_size"], meta["n_critic"], dev,
                          args.warmup))
    out["pytorch"][setting] = {
        **meta, "first_step_s": round(first, 3), "images_per_s": median_of(runs, "images_per_s"),
        "runs_images_per_s": [r["images_per_s"] for r in runs],
        "step_time_s": median_of(runs, "step_time_s"),
        "peak_memory_gib": runs[-1].get("peak_memory_gib")}
    del step
    if dev.type == "cuda":
      torch.cuda.empty_cache()
  for dtype, bench in jax_benches.items():
    runs = jax_runs[dtype] or [bench.measure(args)]  # no PyTorch run: jaxgan alone
    out["jaxgan"][dtype] = {**bench.record(), "images_per_s": median_of(runs, "images_per_s"),
                            "runs_images_per_s": [r["images_per_s"] for r in runs],
                            "step_time_s": median_of(runs, "step_time_s"),
                            "step_time_min_s": min(r["step_time_min_s"] for r in runs)}
  torch_ok = {s: r for s, r in out["pytorch"].items() if "images_per_s" in r}
  if torch_ok:
    best = max(torch_ok, key=lambda s: torch_ok[s]["images_per_s"])
    jax_best = max(out["jaxgan"], key=lambda d: out["jaxgan"][d]["images_per_s"])
    out["pytorch_best_setting"] = best
    out["jaxgan_best_dtype"] = jax_best
    out["ratio_jaxgan_best_over_pytorch_best"] = round(
        out["jaxgan"][jax_best]["images_per_s"] / torch_ok[best]["images_per_s"], 3)
    for dtype in out["jaxgan"]:
      same = {s: r for s, r in torch_ok.items() if ("bf16" in s) == (dtype == "bfloat16")}
      if same:
        b = max(same, key=lambda s: same[s]["images_per_s"])
        out[f"ratio_jaxgan_{dtype}_over_pytorch_{b}"] = round(
            out["jaxgan"][dtype]["images_per_s"] / same[b]["images_per_s"], 3)
  out["device_peak_gib_so_far"] = device_peak_gib()
  return out


def precisions(config_name, overrides, dtypes):
  return {d: load(config_name, {**overrides, "compute_dtype": d}) for d in dtypes}


def section_dcgan(args, sizes):
  import torch_dcgan  # pylint: disable=g-import-not-at-top
  name, overrides = sizes["dcgan64"]
  configs = precisions(name, overrides, args.dcgan_dtypes)
  benches = {d: JaxBench(name, c, args.warmup) for d, c in configs.items()}
  config = configs["float32"] if "float32" in configs else next(iter(configs.values()))
  counts = next(iter(benches.values())).counts
  prepare = lambda s: torch_dcgan.prepare(config, counts, device=args.torch_device, setting=s)
  result = compare("dcgan64", args, benches, prepare)
  for b in benches.values():
    b.close()
  return result


def section_biggan(args, sizes):
  import torch_biggan  # pylint: disable=g-import-not-at-top
  name, overrides = sizes["biggan128"]
  overrides = {**overrides, "batch_size": str(args.biggan_batch)}
  configs = precisions(name, overrides, args.biggan_dtypes)
  benches = {d: JaxBench(name, c, args.warmup) for d, c in configs.items()}
  config = next(iter(configs.values()))
  counts = next(iter(benches.values())).counts
  if not args.tiny:
    assert counts == torch_biggan.BIGGAN_128, counts
  prepare = lambda s: torch_biggan.prepare(config, counts, device=args.torch_device, setting=s)
  result = compare("biggan128", args, benches, prepare)
  bf16 = result["jaxgan"].get("bfloat16")
  peak = peak_tflops(jax.local_devices()[0].device_kind, "bfloat16")
  if bf16 and bf16["xla_flops_per_step"]:
    achieved = bf16["xla_flops_per_step"] / bf16["step_time_s"]
    result["bf16_achieved_tflops"] = round(achieved / 1e12, 2)
    result["bf16_peak_tflops"] = peak
    result["bf16_mfu"] = None if peak is None else round(achieved / (peak * 1e12), 4)
    result["mfu_note"] = ("XLA's cost analysis of the compiled bfloat16 step (FLOPs of every "
                          "op it runs, spectral norm and optimiser included) / median step "
                          "time / the dense bf16 peak of the device kind (benchmarks/scaling.py's table)")
  for b in benches.values():
    b.close()
  return result


def compiled_memory(config) -> tuple[int, float]:
  """(peak bytes XLA's memory analysis gives the config's step, compile seconds), from
  abstract shapes: nothing is allocated."""
  info = data_info(config)
  trainer = trainer_of(config, info)
  state = jax.eval_shape(trainer.init_state, jax.random.PRNGKey(0))
  phases = trainer.phases(lambda x: x)
  variant = trainer.step_variant(phases, 1)
  n = trainer.real_batches(1)
  batch = {"image": jax.ShapeDtypeStruct((n, config.batch_size) + info.shape, jnp.float32)}
  if info.num_classes:
    batch["label"] = jax.ShapeDtypeStruct((n, config.batch_size), jnp.int32)
  t = time.perf_counter()
  compiled = jax.jit(compose_step(phases, variant, trainer.num_keys),
                     donate_argnums=0).lower(state, batch).compile()
  seconds = time.perf_counter() - t
  stats = compiled.memory_analysis()
  peak = (stats.argument_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes
          + stats.temp_size_in_bytes + stats.generated_code_size_in_bytes)
  return peak, seconds


def section_memory(args, sizes, deadline, known_gib=None):
  """BigGAN-128 bf16 at --biggan-batch, remat off and on; the largest batch that fits each.
  known_gib: the biggan128 section's XLA peak of the same step (no remat), not compiled again."""
  name, overrides = sizes["biggan128"]
  base = {**overrides, "compute_dtype": "bfloat16"}
  limit, limit_source = device_memory_limit()
  out = {"compute_dtype": "bfloat16", "limit_gib": None if limit is None else round(limit / GIB, 2),
         "limit_source": limit_source, "batches": [args.biggan_batch, 2 * args.biggan_batch]}
  for remat in (False, True):
    key = "remat" if remat else "no_remat"
    entry = out[key] = {}
    points = []
    for b in out["batches"]:
      if time.perf_counter() > deadline:
        entry["skipped"] = "time budget spent"
        break
      if not remat and b == args.biggan_batch and known_gib:
        peak, seconds = int(known_gib * GIB), 0.0  # the biggan128 section's compiled step
      else:
        log(f"[memory] remat={remat} batch {b}: compiling")
        peak, seconds = compiled_memory(load(name, {**base, "batch_size": str(b),
                                                   "remat": str(remat).lower()}))
      points.append((b, peak))
      entry[f"xla_peak_gib_at_{b}"] = round(peak / GIB, 3)
      entry[f"compile_s_at_{b}"] = round(seconds, 1)
    if len(points) == 2 and limit:
      (b1, m1), (b2, m2) = points
      per_image = (m2 - m1) / (b2 - b1)
      fixed = m1 - per_image * b1
      entry["gib_per_image"] = round(per_image / GIB, 5)
      entry["fixed_gib"] = round(fixed / GIB, 3)
      largest = int((limit - fixed) // per_image) // 8 * 8 if per_image > 0 else None
      entry["largest_batch_estimate"] = largest
      if largest and not args.no_verify and time.perf_counter() < deadline:
        log(f"[memory] remat={remat} batch {largest}: compiling the estimate")
        try:
          peak, _ = compiled_memory(load(name, {**base, "batch_size": str(largest),
                                               "remat": str(remat).lower()}))
          entry["xla_peak_gib_at_estimate"] = round(peak / GIB, 3)
          entry["estimate_fits"] = peak <= limit
        except Exception as e:  # pylint: disable=broad-except
          entry["estimate_error"] = str(e).splitlines()[0][:300]
  nr, r = out["no_remat"], out["remat"]
  key = f"xla_peak_gib_at_{args.biggan_batch}"
  if key in nr and key in r:
    out["remat_saves_gib_at_batch"] = round(nr[key] - r[key], 3)
  return out


def section_style(args, sizes, deadline):
  out = {}
  for key in ("stylegan2_256", "progan_top"):
    if time.perf_counter() > deadline:
      out[key] = {"skipped": "time budget spent"}
      continue
    name, overrides = sizes[key]
    config = load(name, overrides)
    log(f"[style] {key}: compiling")
    bench = JaxBench(name, config, args.warmup)
    runs = [bench.measure(args)]
    out[key] = {"config": name, "config_overrides": overrides, **bench.record(), **runs[0],
                "device_peak_gib_so_far": device_peak_gib()}
    bench.close()
  return out


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", required=True)
  parser.add_argument("--tiny", action="store_true", help="tiny sizes (the CPU test)")
  parser.add_argument("--sections", default="dcgan64,biggan128,memory,style")
  parser.add_argument("--budget-s", type=float, default=420.0,
                      help="start no new section or compile after this many seconds")
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--steps", type=int, default=None,
                      help="timed steps per run (default: adaptive, as throughput.py)")
  parser.add_argument("--warmup", type=int, default=3)
  parser.add_argument("--min-steps", type=int, default=5)
  parser.add_argument("--min-time", type=float, default=3.0)
  parser.add_argument("--max-time", type=float, default=10.0)
  parser.add_argument("--biggan-batch", type=int, default=256, help="per device")
  parser.add_argument("--dcgan-dtypes", default="float32,bfloat16",
                      help="jaxgan's compute_dtype(s) for DCGAN-64")
  parser.add_argument("--biggan-dtypes", default="float32,bfloat16",
                      help="for BigGAN-128 (bfloat16 gives the MFU)")
  parser.add_argument("--no-verify", action="store_true",
                      help="memory: do not compile the largest-batch estimates to check them")
  parser.add_argument("--torch-settings",
                      default="fp32;fp32+channels_last;bf16+channels_last;"
                      "bf16+channels_last+compile",
                      help="';'-separated PyTorch settings (benchmarks/torch_timing.py)")
  parser.add_argument("--torch-device", default=None, help="default: cuda if available, else cpu")
  args = parser.parse_args(argv)
  start = time.perf_counter()
  deadline = start + args.budget_s
  if args.tiny:  # every code path once, at the least compilation
    args.steps, args.warmup, args.repeats = args.steps or 1, 0, 1
    args.biggan_batch = min(args.biggan_batch, 4)
    args.budget_s = max(args.budget_s, 3600.0)
    deadline = start + args.budget_s
  args.dcgan_dtypes = [d for d in args.dcgan_dtypes.split(",") if d]
  args.biggan_dtypes = [d for d in args.biggan_dtypes.split(",") if d]
  sizes = TINY if args.tiny else FULL
  try:
    import torch  # pylint: disable=g-import-not-at-top
    torch_version = torch.__version__
    if args.torch_device is None:
      args.torch_device = "cuda" if torch.cuda.is_available() else "cpu"
  except ImportError:
    torch_version = None
  env = throughput.environment()
  results = {"environment": {**env, "torch": torch_version, "torch_device": args.torch_device},
             "tiny": args.tiny, "args": {k: v for k, v in vars(args).items()}}

  def save():
    results["elapsed_s"] = round(time.perf_counter() - start, 1)
    results["load_avg_1m"] = round(os.getloadavg()[0], 2)
    with open(args.out, "w") as f:
      json.dump(results, f, indent=1)

  log(f"{env['device_count']} x {env['device_kind']}, jax {env['jax']}, torch {torch_version}")
  for section in [s for s in args.sections.split(",") if s]:
    if time.perf_counter() > deadline:
      results[section] = {"skipped": "time budget spent"}
      continue
    t = time.perf_counter()
    try:
      if section == "dcgan64":
        results[section] = section_dcgan(args, sizes) if torch_version else {"skipped": "no torch"}
      elif section == "biggan128":
        results[section] = section_biggan(args, sizes) if torch_version else {"skipped": "no torch"}
      elif section == "memory":
        known = (results.get("biggan128", {}).get("jaxgan", {}).get("bfloat16", {})
                 .get("xla_peak_gib"))
        results[section] = section_memory(args, sizes, deadline, known)
      elif section == "style":
        results[section] = section_style(args, sizes, deadline)
      else:
        parser.error(f"unknown section {section!r}")
    except Exception as e:  # pylint: disable=broad-except  # keep the other sections' figures
      import traceback  # pylint: disable=g-import-not-at-top
      traceback.print_exc()
      results[section] = {"error": f"{type(e).__name__}: {str(e)[:500]}"}
    results.setdefault(section, {})["section_s"] = round(time.perf_counter() - t, 1)
    save()
    log(f"[{section}] done in {time.perf_counter() - t:.0f} s")
  save()
  failed = [s for s in results if isinstance(results[s], dict) and "error" in results[s]]
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
