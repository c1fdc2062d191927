"""Training throughput of jaxgan's configs: compile time and steady-state step time.

For each config: build the Experiment, place one global batch on the mesh (reused for every step,
so data loading is not measured), time step.lower(state, batch) and .compile() apart, then
the first run, a warm-up, and steady-state steps, each step ended by jax.block_until_ready.
Reports images/sec = batch_size / median step time (one step = n_critic D updates + one G
update) and real images consumed/sec = batch_size * n_critic / median step time.

Configs whose data is not on this machine (tfds / folders) run on a stand-in of the same shape:
the embedded digits resized to the config's image size and channels (override data.name=digits,
reported in config_overrides and data). The networks, batch and step are the config's.
pix2pix / CycleGAN configs get a stand-in of their own format instead (see translation_stand_in:
a side-by-side A|B folder, or trainA/ trainB/ folders, of crops of the two bundled photos); for
them images/sec counts training examples (one input/target pair, or one image of each domain).

Each step is also timed in CPU seconds (time.process_time, all threads of the process): run
under `taskset -c 0` (one core, one thread on both sides) that is the work a step costs,
whatever else the machine is running.

When torch imports (or with --torch), also runs the PyTorch baseline of dcgan_digits
(benchmarks/torch_dcgan.py, in a subprocess, in each --torch-layouts layout) interleaved with
jaxgan's dcgan_digits --repeats times, and prints the ratio of jaxgan's images/sec to PyTorch's
(medians), and the same ratio from CPU seconds per step.

  /work/venv/bin/python benchmarks/throughput.py [--configs a,b,...] [--steps N] [--warmup N]
      [--out FILE.json] [--torch | --no-torch] [--repeats R] [--torch-layouts nchw,channels_last]
      [--config.KEY=VALUE ...]

One JSON object per line on stdout; progress on stderr. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=wrong-import-position
from jaxgan.train.experiment import Experiment  # pylint: disable=wrong-import-position

EMBEDDED_CONFIGS = ("gan_ring8", "gan_grid25", "gan_digits", "cgan_digits", "dcgan_digits",
                    "wgan_digits", "wgan_gp_grid25", "wgan_gp_digits")
REAL_DATA_CONFIGS = ("dcgan_mnist", "dcgan_celeba64", "wgan_gp_cifar10")
# pix2pix and CycleGAN at 256x256 (the papers' facades and horse2zebra set-ups, batch 1).
TRANSLATION_CONFIGS = ("pix2pix_facades", "cyclegan_horse2zebra")
# StyleGAN2 at 256x256 (stylegan2_ffhq's networks at data.image_size=256, as the official
# 256x256 set-ups) and ProGAN at its largest stage (1024x1024, batch 3): opt-in (--configs),
# minutes of compile on a CPU.
STYLE_CONFIGS = ("stylegan2_ffhq", "progan_celeba_hq")
STYLE_OVERRIDES = {"stylegan2_ffhq": {"data.image_size": "256"}}
DEFAULT_CONFIGS = EMBEDDED_CONFIGS + REAL_DATA_CONFIGS + TRANSLATION_CONFIGS
TORCH_CONFIG = "dcgan_digits"
# torch_dcgan.py mirrors the plain DCGAN step, so both sides of the comparison run TORCH_CONFIG
# with InfoGAN's code (which dcgan_digits turns on) off.
TORCH_OVERRIDES = {"info_code.categories": "0"}


def log(*args):
  print(*args, file=sys.stderr, flush=True)


def config_path(name: str) -> str:
  return name if name.endswith(".py") else os.path.join(ROOT, "configs", name + ".py")


def load(name: str, overrides: dict[str, str]):
  """(config, all overrides applied, data description); a stand-in for data not embedded."""
  config = load_config_file(config_path(name))
  apply_overrides(config, overrides)
  applied = dict(overrides)
  data = config.data
  if data.name in ("ring8", "grid25"):
    description = f"embedded {data.name}"
  elif data.name in ("digits", "captioned_digits"):
    description = (f"embedded {data.name} at {data.image_size}x{data.image_size}x"
                   f"{data.channels}")
  elif config.trainer in ("pix2pix", "cyclegan", "cogan"):
    stand_in = translation_stand_in(config)
    apply_overrides(config, stand_in)
    applied.update(stand_in)
    config.evals = type(config.evals)()  # evaluators of the real data set: none on a stand-in
    kind = ("side-by-side A|B" if stand_in["data.layout"] == "side_by_side" else
            "trainA/trainB")
    description = (f"stand-in: a {kind} folder of crops of the two bundled photos at "
                   f"{data.image_size}x{data.image_size}x{data.channels} (the config's data "
                   f"is not read)")
  else:
    original = data.name
    apply_overrides(config, {"data.name": "digits"})
    config.evals = type(config.evals)()  # evaluators of the real data set: none on a stand-in
    applied["data.name"] = "digits"
    description = (f"stand-in: embedded digits resized to {data.image_size}x{data.image_size}x"
                   f"{data.channels} (the config's {original} is not read)")
  return config, applied, description


def translation_stand_in(config) -> dict[str, str]:
  """Overrides that point a pix2pix / CycleGAN / CoGAN config at data of its own format made
  here from scikit-learn's two photos (china.jpg, flower.jpg): a side-by-side A|B folder (paired)
  or a trainA/trainB folder (unpaired) of 4 image_size crops, in a temporary folder."""
  import tempfile  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top
  size = config.data.image_size
  china, flower = (Image.fromarray(p) for p in load_sample_images().images)
  crops = lambda photo: [np.asarray(photo.crop((x, 0, x + photo.height, photo.height)).resize(
      (size, size), Image.Resampling.BICUBIC)) for x in (0, 71, 142, 213)]
  root = tempfile.mkdtemp(prefix="jaxgan_bench_")
  import atexit  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  atexit.register(shutil.rmtree, root, ignore_errors=True)
  if config.trainer == "pix2pix":
    for i, (a, b) in enumerate(zip(crops(china), crops(flower))):
      Image.fromarray(np.concatenate([a, b], axis=1)).save(os.path.join(root, f"{i}.png"))
    return {"data.name": "folder", "data.path": root, "data.layout": "side_by_side",
            "data.domain_b": ""}
  for domain, photo in (("A", china), ("B", flower)):
    os.makedirs(os.path.join(root, "train" + domain))
    for i, crop in enumerate(crops(photo)):
      Image.fromarray(crop).save(os.path.join(root, "train" + domain, f"{i}.png"))
  return {"data.name": "folder", "data.path": root, "data.layout": "unpaired",
          "data.domain_b": ""}


def _count(tree) -> int:
  return int(sum(x.size for x in jax.tree_util.tree_leaves(tree)))


def param_counts(experiment) -> dict[str, int]:
  state = experiment.abstract_state
  return {"generator": _count(state.g_params), "discriminator": _count(state.d_params)}


def jaxgan_param_counts(config) -> dict[str, int]:
  """G's and D's parameter counts for a config, from the engine's own abstract state."""
  config = config.copy_and_resolve_references()
  if config.data.name not in ("ring8", "grid25", "digits"):
    apply_overrides(config, {"data.name": "digits"})
  return param_counts(Experiment(config))


def environment() -> dict:
  devices = jax.devices()
  import flax  # pylint: disable=g-import-not-at-top
  import jaxlib  # pylint: disable=g-import-not-at-top
  return {
      "platform": devices[0].platform,
      "device_kind": devices[0].device_kind,
      "device_count": len(devices),
      "jax": jax.__version__,
      "jaxlib": jaxlib.__version__,
      "flax": flax.__version__,
      "python": platform.python_version(),
      "cpu": cpu_name(),
      "cpu_count": os.cpu_count(),
  }


def cpu_name() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown"


# The step timed: the one after iteration 1, a steady-state step (no lazy regulariser due, no
# warm-up critic schedule unless the config keeps it on); a growing ProGAN's first stable step
# at its largest resolution (timed_iteration).
TIMED_ITERATION = 1


def timed_iteration(experiment) -> int:
  growth = getattr(experiment.trainer, "growth", None)
  if growth is None:
    return TIMED_ITERATION
  top = growth.num_stages - 1
  return growth.starts[top] + -(-growth.fade_images // growth.batches[top]) + 1


def time_steps(step, state, batch, steps, min_steps, min_time, max_time):
  """Runs step until the budget is met; returns (state, per-step seconds, per-step CPU seconds)."""
  times, cpu_times, start = [], [], time.perf_counter()
  while True:
    t, c = time.perf_counter(), time.process_time()
    state, metrics = step(state, batch)
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - t)
    cpu_times.append(time.process_time() - c)
    elapsed = time.perf_counter() - start
    if steps:
      if len(times) >= steps:
        break
    elif (len(times) >= min_steps and elapsed >= min_time) or (elapsed >= max_time and
                                                                len(times) >= 2):
      break
  return state, times, cpu_times


def summarize(times, cpu_times, batch_size, n_critic) -> dict:
  """Wall-clock figures (images/sec from the median step) and the median CPU time per step
  (all threads of the process: with one thread it is the step's compute, whatever the load)."""
  step_time = statistics.median(times)
  return {
      "steps": len(times),
      "step_time_s": round(step_time, 6),
      "step_time_mean_s": round(statistics.fmean(times), 6),
      "step_time_min_s": round(min(times), 6),
      "cpu_time_per_step_s": round(statistics.median(cpu_times), 6),
      "images_per_s": round(batch_size / step_time, 2),
      "real_images_per_s": round(batch_size * n_critic / step_time, 2),
  }


def compile_only(name, overrides) -> dict:
  """Lowers and compiles the timed step from the engine's abstract state and batch (nothing is
  initialised or run), as the training loop's ahead-of-time memory check does."""
  style = STYLE_OVERRIDES.get(os.path.basename(name).removesuffix(".py"), {})
  config, applied, data = load(name, {**style, **overrides})
  t = time.perf_counter()
  experiment = Experiment(config)
  iteration = timed_iteration(experiment)
  state, batch = experiment.abstract_state, experiment.abstract_batch(iteration)
  setup_s = time.perf_counter() - t
  t, c = time.perf_counter(), time.process_time()
  lowered = experiment.step_fn(iteration).lower(state, batch)
  lower_s, lower_cpu_s = time.perf_counter() - t, time.process_time() - c
  t, c = time.perf_counter(), time.process_time()
  lowered.compile()
  compile_s, compile_cpu_s = time.perf_counter() - t, time.process_time() - c
  return {"config": name, "framework": "jaxgan", "mode": "compile_only", "data": data,
          "config_overrides": applied, "batch_size": config.batch_size,
          "n_critic": config.n_critic, "grad_accum_steps": config.grad_accum_steps,
          "image_or_point_shape": list(experiment.info.shape), "timed_iteration": iteration,
          "param_counts": param_counts(experiment), "setup_s": round(setup_s, 3),
          "lower_s": round(lower_s, 3), "lower_cpu_s": round(lower_cpu_s, 3),
          "compile_s": round(compile_s, 3), "compile_cpu_s": round(compile_cpu_s, 3),
          "load_avg_1m": round(os.getloadavg()[0], 2), **ENV}


class Bench:
  """One config's experiment, compiled, with its batch placed; measure() may be called again."""

  def __init__(self, name, overrides, args):
    self.name, self.args = name, args
    style = STYLE_OVERRIDES.get(os.path.basename(name).removesuffix(".py"), {})
    self.config, self.overrides, self.data = load(name, {**style, **overrides})
    t = time.perf_counter()
    self.experiment = Experiment(self.config)
    self.iteration = timed_iteration(self.experiment)
    self.state = self.experiment.init_state()
    if self.iteration != TIMED_ITERATION:  # ProGAN: the step, stage and alpha of that step
      extra = self.state.extra
      self.state = self.state.replace(step=self.state.step * 0 + self.iteration, extra={
          **extra, "stage": extra["stage"] * 0 + self.experiment.trainer.growth.num_stages - 1,
          "alpha": extra["alpha"] * 0 + 1.0})
    self.batch = self.experiment.next_batch(self.experiment.train_iterator(), self.iteration)
    jax.block_until_ready((self.state, self.batch))
    self.setup_s = time.perf_counter() - t
    step = self.experiment.step_fn(self.iteration)
    t = time.perf_counter()
    lowered = step.lower(self.state, self.batch)
    self.lower_s = time.perf_counter() - t
    t = time.perf_counter()
    lowered.compile()
    self.compile_s = time.perf_counter() - t
    # The jitted step's first call reuses the compilation just made (JAX caches it), so it
    # measures the first run, not a second compile.
    t = time.perf_counter()
    self.state, metrics = step(self.state, self.batch)
    jax.block_until_ready((self.state, metrics))
    self.first_run_s = time.perf_counter() - t
    # Warm-up: up to --warmup steps within --warmup-time; a first run slower than that already
    # was the warm-up (the big configs), so none is added.
    self.warmup_steps = 0
    t = time.perf_counter()
    while (self.warmup_steps < args.warmup and self.first_run_s < args.warmup_time and
           time.perf_counter() - t < args.warmup_time):
      self.state, metrics = step(self.state, self.batch)
      jax.block_until_ready((self.state, metrics))
      self.warmup_steps += 1

  def measure(self, min_time=None):
    args = self.args
    self.state, times, cpu_times = time_steps(self.experiment.step_fn(self.iteration),
                                              self.state, self.batch,
                                   args.steps, args.min_steps,
                                   args.min_time if min_time is None else min_time,
                                   args.max_time)
    c = self.config
    batch_size = self.experiment.trainer.stage_batch_size(
        self.experiment.trainer.growth.num_stages - 1) if hasattr(
            self.experiment.trainer, "growth") else c.batch_size
    return summarize(times, cpu_times, batch_size, c.n_critic)

  def record(self, summary) -> dict:
    c = self.config
    return {
        "config": self.name,
        "framework": "jaxgan",
        "data": self.data,
        "config_overrides": self.overrides,
        "architecture": c.architecture,
        "batch_size": c.batch_size,
        "n_critic": c.n_critic,
        "grad_accum_steps": c.grad_accum_steps,
        "compute_dtype": c.compute_dtype,
        "image_or_point_shape": list(self.experiment.info.shape),
        "timed_iteration": self.iteration,
        "timed_phases": list(self.experiment.trainer.step_variant(self.experiment.phases,
                                                                  self.iteration).phases),
        "param_counts": param_counts(self.experiment),
        "setup_s": round(self.setup_s, 3),
        "lower_s": round(self.lower_s, 3),
        "compile_s": round(self.compile_s, 3),
        "first_run_s": round(self.first_run_s, 4),
        "warmup_steps": self.warmup_steps,
        **summary,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        **ENV,
    }


def torch_available() -> bool:
  try:
    import importlib.util  # pylint: disable=g-import-not-at-top
    return importlib.util.find_spec("torch") is not None
  except (ImportError, ValueError):
    return False


def run_torch(name, overrides, args, min_time, layout) -> dict:
  """benchmarks/torch_dcgan.py in a subprocess (its own thread pools; jax is idle meanwhile)."""
  cmd = [sys.executable, os.path.join(HERE, "torch_dcgan.py"), "--config", config_path(name),
         "--warmup", str(args.warmup), "--min-steps", str(args.min_steps),
         "--min-time", str(min_time), "--max-time", str(args.max_time)]
  if layout == "channels_last":
    cmd.append("--channels-last")
  if args.steps:
    cmd += ["--steps", str(args.steps)]
  cmd += [f"--config.{k}={v}" for k, v in overrides.items()]
  out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
  lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
  if out.returncode or not lines:
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    raise RuntimeError(f"torch_dcgan.py failed (exit {out.returncode}): {tail}")
  return json.loads(lines[-1])


def compare_with_torch(bench, user_overrides, args, emit):
  """Alternates jaxgan and PyTorch runs of the same DCGAN; ratios of the medians."""
  layouts = [l for l in args.torch_layouts.split(",") if l]
  jax_runs, torch_runs = [], {l: [] for l in layouts}
  for r in range(args.repeats):
    log(f"[{TORCH_CONFIG}] interleaved run {r + 1}/{args.repeats}: jaxgan")
    jax_runs.append(bench.measure(args.compare_min_time))
    for layout in layouts:
      log(f"[{TORCH_CONFIG}] interleaved run {r + 1}/{args.repeats}: pytorch ({layout})")
      torch_runs[layout].append(run_torch(bench.name, user_overrides, args,
                                          args.compare_min_time, layout))
  counts = param_counts(bench.experiment)
  median = lambda runs, key: statistics.median(r[key] for r in runs)
  jax_ips = median(jax_runs, "images_per_s")
  result = {
      "comparison": f"{TORCH_CONFIG}: jaxgan vs pytorch",
      "config_overrides": user_overrides,
      "batch_size": bench.config.batch_size,
      "repeats": args.repeats,
      "jaxgan": {
          "param_counts": counts,
          "images_per_s": jax_ips,
          "runs_images_per_s": [r["images_per_s"] for r in jax_runs],
          "step_time_s": median(jax_runs, "step_time_s"),
          "step_time_min_s": min(r["step_time_min_s"] for r in jax_runs),
          "cpu_time_per_step_s": median(jax_runs, "cpu_time_per_step_s"),
      },
  }
  for layout, runs in torch_runs.items():
    for t in runs:
      assert t["param_counts"] == counts, (t["param_counts"], counts)
    torch_ips = median(runs, "images_per_s")
    result[f"pytorch_{layout}"] = {
        "param_counts": runs[0]["param_counts"],
        "images_per_s": torch_ips,
        "runs_images_per_s": [r["images_per_s"] for r in runs],
        "step_time_s": median(runs, "step_time_s"),
        "step_time_min_s": min(r["step_time_min_s"] for r in runs),
        "cpu_time_per_step_s": median(runs, "cpu_time_per_step_s"),
        "first_step_s": runs[0]["first_step_s"],
        "threads": runs[0]["threads"],
    }
    # images/sec from median wall-clock step times.
    result[f"ratio_jaxgan_over_pytorch_{layout}"] = round(jax_ips / torch_ips, 3)
    # The same from CPU seconds per step: the work done, whatever the load (with one thread).
    result[f"cpu_ratio_jaxgan_over_pytorch_{layout}"] = round(
        result[f"pytorch_{layout}"]["cpu_time_per_step_s"] /
        result["jaxgan"]["cpu_time_per_step_s"], 3)
  result.update({"torch": next(iter(torch_runs.values()))[0]["torch"] if layouts else None,
                 "load_avg_1m": round(os.getloadavg()[0], 2), **ENV})
  emit(result)


ENV: dict = {}


def main(argv=None):
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n")[0],
      epilog="--config.KEY=VALUE overrides apply to every config measured (and to the PyTorch "
      "baseline).")
  parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                      help="comma-separated config names (configs/NAME.py) or paths")
  parser.add_argument("--steps", type=int, default=None,
                      help="timed steps per config (default: adaptive, see --min-steps, "
                      "--min-time, --max-time)")
  parser.add_argument("--warmup", type=int, default=3,
                      help="warm-up steps after the first run (cut short after --warmup-time)")
  parser.add_argument("--warmup-time", type=float, default=2.0)
  parser.add_argument("--min-steps", type=int, default=5)
  parser.add_argument("--min-time", type=float, default=5.0,
                      help="adaptive: time at least --min-steps steps and --min-time seconds")
  parser.add_argument("--max-time", type=float, default=15.0,
                      help="adaptive: or stop after this many seconds (and at least 2 steps)")
  parser.add_argument("--out", default=None, help="also write all results to this JSON file")
  group = parser.add_mutually_exclusive_group()
  group.add_argument("--torch", dest="torch", action="store_true", default=None,
                     help=f"run the PyTorch baseline of {TORCH_CONFIG} (default: if torch imports)")
  group.add_argument("--no-torch", dest="torch", action="store_false")
  parser.add_argument("--repeats", type=int, default=3,
                      help="interleaved jaxgan/PyTorch runs for the comparison (median taken)")
  parser.add_argument("--torch-layouts", default="nchw,channels_last",
                      help="PyTorch memory layouts to compare against: nchw (PyTorch's usual), "
                      "channels_last (NHWC, jaxgan's layout)")
  parser.add_argument("--compare-min-time", type=float, default=6.0,
                      help="--min-time of each interleaved comparison run")
  parser.add_argument("--compile-only", action="store_true",
                      help="only lower and compile each config's step from abstract shapes "
                      "(no initialisation, no steps run, no PyTorch)")
  args, rest = parser.parse_known_args(argv)
  overrides = {}
  for item in rest:
    if not item.startswith("--config.") or "=" not in item:
      parser.error(f"unrecognized argument {item!r} (overrides are --config.KEY=VALUE)")
    key, value = item[len("--config."):].split("=", 1)
    overrides[key] = value
  names = [n for n in args.configs.split(",") if n]
  use_torch = False if args.compile_only else args.torch
  if use_torch is None:
    use_torch = torch_available() and TORCH_CONFIG in names
  if use_torch and TORCH_CONFIG not in names:
    parser.error(f"--torch compares {TORCH_CONFIG}; include it in --configs")
  if use_torch and not torch_available():
    parser.error("--torch: torch does not import")

  ENV.update(environment())
  results = []

  def emit(result):
    results.append(result)
    print(json.dumps(result), flush=True)

  log(f"{ENV['device_count']} x {ENV['device_kind']}, jax {ENV['jax']}, "
      f"load {os.getloadavg()[0]:.2f}")
  for name in names:
    log(f"[{name}] building and compiling")
    if args.compile_only:
      emit(compile_only(name, overrides))
      continue
    bench = Bench(name, overrides, args)
    log(f"[{name}] compile {bench.compile_s:.1f}s, first run {bench.first_run_s:.2f}s; timing")
    emit(bench.record(bench.measure()))
    if use_torch and name == TORCH_CONFIG:
      plain = {**overrides, **TORCH_OVERRIDES}
      try:
        compare_with_torch(Bench(name, plain, args), plain, args, emit)
      except RuntimeError as e:
        log(f"[{TORCH_CONFIG}] PyTorch baseline failed: {e}")
        emit({"comparison": f"{TORCH_CONFIG}: jaxgan vs pytorch", "error": str(e)})
    del bench
  if args.out:
    with open(args.out, "w") as f:
      json.dump(results, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
