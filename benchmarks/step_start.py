"""CPU seconds of a config's start as the training loop runs it, and of its steps.

Usage:
  .venv/bin/python benchmarks/step_start.py CONFIG.py [key=value ...] [--phases]

Prints: the init's CPU time; the memory check's (which compiles the first step, as `jaxgan
train` does before step 0); steps 0-16 (every other step variant compiled on first use:
StyleGAN2's path length every 4 and lazy R1 every 16), with the part of it beyond 17 mean
steps; the mean step over steps 17-48 (one real batch, reused). --phases also times G's
forward pass, its mapping with mixing (style generators), D's forward pass, and each phase of the step compiled
and run alone. Nothing is written; the persistent compilation cache is not used.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgan import progress  # pylint: disable=wrong-import-position
from jaxgan.train.experiment import Experiment  # pylint: disable=wrong-import-position


def load_config(path: str, overrides: list[str]):
  spec = importlib.util.spec_from_file_location("config_module", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  with config.unlocked():
    for item in overrides:
      key, value = item.split("=", 1)
      node, *path = [config] + key.split(".")[:-1]
      for part in path:
        node = node[part]
      last = key.split(".")[-1]
      old = node[last]
      node[last] = value if isinstance(old, str) else type(old)(eval(value))  # pylint: disable=eval-used
  return config


def timed(fn, *args, repeats: int = 10):
  out = fn(*args)
  jax.block_until_ready(out)
  t = time.process_time()
  for _ in range(repeats):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.process_time() - t) / repeats


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("config")
  parser.add_argument("overrides", nargs="*", help="key=value")
  parser.add_argument("--phases", action="store_true")
  args = parser.parse_args()
  progress.enabled = False
  cpu = time.process_time
  config = load_config(args.config, args.overrides)
  experiment = Experiment(config)
  t = cpu()
  state = experiment.init_state()
  jax.block_until_ready(state)
  print(f"init {cpu() - t:.1f} cpu s", flush=True)
  batch = experiment.next_batch(experiment.train_iterator())
  t = cpu()
  experiment.check_memory(0)
  print(f"memory check (compiles step 0) {cpu() - t:.1f} cpu s", flush=True)
  t = cpu()
  for i in range(17):
    state, _ = experiment.step_fn(i)(state, batch)
  jax.block_until_ready(state)
  first = cpu() - t
  t = cpu()
  for i in range(17, 49):
    state, _ = experiment.step_fn(i)(state, batch)
  jax.block_until_ready(state)
  per = (cpu() - t) / 32
  print(f"steps 0-16 {first:.1f} cpu s (beyond 17 mean steps: {first - 17 * per:.1f}); "
        f"mean step over steps 17-48 {per:.3f} cpu s", flush=True)
  if not args.phases:
    return
  nets, key = experiment.trainer.nets, jax.random.PRNGKey(0)
  last = jax.tree_util.tree_map(lambda x: x[-1], batch)
  x = last["image"] if "image" in last else last["x"]
  z = nets.draw_z(jax.random.PRNGKey(1), config.batch_size)
  g_vars = lambda p: {"params": p, **state.g_state}
  pieces = {
      "G forward": (jax.jit(lambda p, z, k: nets.generate(p, state.g_state, z, None, train=True,
                                                          key=k)[0]), (state.g_params, z, key)),
      "G mapping and mixing": (jax.jit(lambda p, z, k: nets.generator.apply(
          g_vars(p), z, None, True, method="styles", rngs={"noise": k})), (state.g_params, z, key)),
      "D forward": (jax.jit(lambda p, x, k: nets.discriminate(p, state.d_state, x, None, k)[0]),
                    (state.d_params, x, key)),
  }
  if not getattr(experiment.trainer, "style", False):  # no mapping network
    del pieces["G mapping and mixing"]
  for name, (fn, fn_args) in pieces.items():
    print(f"{name}: {timed(fn, *fn_args, repeats=20):.4f} cpu s", flush=True)
  for phase in experiment.phases:
    fn = jax.jit(lambda s, b, k, p=phase: p.run(s, b, k)[0])
    t = cpu()
    compiled = fn.lower(state, last, key).compile()
    compile_s = cpu() - t
    print(f"phase {phase.name}: compile {compile_s:.1f} cpu s, run "
          f"{timed(compiled, state, last, key):.3f} cpu s", flush=True)


if __name__ == "__main__":
  main()
