"""CPU time of one training step of a config, apart from its input pipeline.

  python docs/stackgan_step_timing.py CONFIG [key=value ...]

Builds the config's experiment, fetches and places 20 batches (CPU ms per batch), then runs the
compiled step once (compilation) and 20 times more: CPU seconds of this process (all threads,
user + sys) per step, and wall seconds. Used for StackGAN's Stage-I step in
docs/text_to_image.md.
"""

from __future__ import annotations

import resource
import sys
import time

import jax

from jaxgan.config import apply_overrides, load_config_file
from jaxgan.train.experiment import Experiment


def cpu_seconds() -> float:
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
  config = load_config_file(argv[0])
  apply_overrides(config, dict(kv.split("=", 1) for kv in argv[1:]))
  experiment = Experiment(config)
  state = experiment.init_state(None)
  iterator = experiment.train_iterator()
  n = 20
  cpu, wall = cpu_seconds(), time.time()
  batches = [experiment.next_batch(iterator, i) for i in range(n)]
  print(f"fetch+place: {(cpu_seconds() - cpu) / n * 1000:.1f} ms CPU per batch, "
        f"{(time.time() - wall) / n * 1000:.1f} ms wall", flush=True)
  step = experiment.step_fn(0)
  state, metrics = step(state, batches[0])
  jax.block_until_ready(metrics)
  cpu, wall = cpu_seconds(), time.time()
  for i in range(n):
    state, metrics = step(state, batches[i])
  jax.block_until_ready(metrics)
  print(f"jitted step: {(cpu_seconds() - cpu) / n:.3f} CPU s per step, "
        f"{(time.time() - wall) / n:.3f} wall s per step", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
