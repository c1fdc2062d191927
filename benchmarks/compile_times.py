"""Compile time of each config's train step on this machine, one config per process.

Runs `throughput.py --compile-only --configs NAME` for each config in a fresh process (so one
config's compilations cannot warm another's, and a config past --cpu-limit CPU seconds is
stopped without losing the others), with JAX's persistent compilation cache off. Reports per config: the step's
lower and compile seconds (wall and CPU), the whole process's wall and CPU seconds (imports,
building the experiment and the data stand-in included), and the 1-minute load average.

  .venv/bin/python benchmarks/compile_times.py [--configs a,b | --all] [--cpu-limit 180]
      [--out FILE.json] [--config.KEY=VALUE ...]

--all: every configs/*.py at its own size (the data stand-ins of throughput.py for data not on
this machine); default: throughput.py's DEFAULT_CONFIGS and STYLE_CONFIGS.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)


def child_cpu_s() -> float:
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def measure(name: str, overrides: list[str], cpu_limit: float) -> dict:
  """One config in its own process, stopped after cpu_limit CPU seconds (RLIMIT_CPU: a wall
  limit would stop configs for the machine's load rather than their cost)."""
  cmd = [sys.executable, os.path.join(HERE, "throughput.py"), "--compile-only", "--configs",
         name, *overrides]
  env = dict(os.environ, JAX_ENABLE_COMPILATION_CACHE="false")
  limit = int(cpu_limit)
  t, c = time.perf_counter(), child_cpu_s()
  out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, (limit, limit)))
  wall, cpu = time.perf_counter() - t, child_cpu_s() - c
  if out.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
    return {"config": name, "error": f"not compiled within {limit} CPU s (stopped)",
            "process_wall_s": round(wall, 1), "process_cpu_s": round(cpu, 1),
            "load_avg_1m": round(os.getloadavg()[0], 2)}
  lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
  if out.returncode or not lines:
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return {"config": name, "error": f"exit {out.returncode}: {tail}"}
  result = json.loads(lines[-1])
  result.update(process_wall_s=round(wall, 1), process_cpu_s=round(cpu, 1))
  return result


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--configs", default=None)
  parser.add_argument("--all", action="store_true", help="every configs/*.py")
  parser.add_argument("--cpu-limit", type=float, default=180.0,
                      help="CPU seconds per config's process (stopped after that)")
  parser.add_argument("--out", default=None)
  args, rest = parser.parse_known_args(argv)
  bad = [r for r in rest if not (r.startswith("--config.") and "=" in r)]
  if bad:
    parser.error(f"unrecognized arguments {bad} (overrides are --config.KEY=VALUE)")
  if args.all:
    names = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "configs",
                                                                             "*.py"))
                   if not p.endswith("__init__.py"))
  elif args.configs:
    names = [n for n in args.configs.split(",") if n]
  else:
    import throughput  # pylint: disable=g-import-not-at-top
    names = list(throughput.DEFAULT_CONFIGS + throughput.STYLE_CONFIGS)
  results = []
  for name in names:
    print(f"[{name}] compiling", file=sys.stderr, flush=True)
    result = measure(name, rest, args.cpu_limit)
    results.append(result)
    print(json.dumps(result), flush=True)
    if args.out:  # written after each config, so a stopped run keeps what it measured
      with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
