"""What the persistent compilation cache saves at a training run's start.

Runs `jaxgan train` for one step three times in fresh workdirs: with an empty cache folder
(cold: every function compiled and written), again with that folder (warm: read back), and with
the cache off. Each run is a new process, so imports, data loading, building the networks,
the first step, the final checkpoint and the end-of-training evaluation are all inside; the
difference between cold and warm is what the cache saves. Wall and CPU seconds per run (CPU:
the child process, all threads).

  .venv/bin/python benchmarks/cache_startup.py [--config dcgan_digits] [--config.KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def child_cpu_s() -> float:
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", default="dcgan_digits")
  args, rest = parser.parse_known_args(argv)
  root = tempfile.mkdtemp(prefix="jaxgan_cache_startup_")
  cache = os.path.join(root, "xla")
  config = os.path.join(ROOT, "configs", args.config + ".py")
  results = {"config": args.config, "overrides": rest}
  try:
    for run, setting in (("cold", cache), ("warm", cache), ("off", "off")):
      cmd = [sys.executable, "-m", "jaxgan.cli", "train", "--config", config, "--workdir",
             os.path.join(root, run), "--no-tensorboard", "--config.steps=1",
             "--config.sample_every=0", f"--config.compilation_cache={setting}", *rest]
      t, c = time.perf_counter(), child_cpu_s()
      out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
      if out.returncode:
        raise SystemExit(f"{run}: exit {out.returncode}: {out.stderr.strip().splitlines()[-1]}")
      results[run] = {"wall_s": round(time.perf_counter() - t, 1),
                      "cpu_s": round(child_cpu_s() - c, 1)}
      if run == "cold":
        results["cache_entries"] = len(os.listdir(cache))
        results["cache_mib"] = round(sum(os.path.getsize(os.path.join(cache, f))
                                         for f in os.listdir(cache)) / 2**20, 1)
      print(run, results[run], file=sys.stderr, flush=True)
  finally:
    shutil.rmtree(root, ignore_errors=True)
  results["warm_saves_cpu_s"] = round(results["cold"]["cpu_s"] - results["warm"]["cpu_s"], 1)
  results["load_avg_1m"] = round(os.getloadavg()[0], 2)
  print(json.dumps(results))


if __name__ == "__main__":
  main()
