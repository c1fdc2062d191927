"""Images/s of the FID Inception-v3 at 299x299 (jitted, batch sharded over all devices).

  .venv/bin/python benchmarks/inception_throughput.py [--batch-size 32] [--batches 4]

Runs the network with seeded stand-in weights (the speed does not depend on their values, and
the real ones are never downloaded) on random uint8 32x32 images, resized to 299 inside the
network as pytorch-fid does. Prints one JSON line: compile seconds, steady images/s (median over
timed batches after one warm-up batch), devices, and the machine's load (os.getloadavg) at the
end, since on a shared machine the figure moves with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import numpy as np

from jaxgan.metrics import inception, inception_weights


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch-size", type=int, default=32)
  parser.add_argument("--batches", type=int, default=4, help="timed batches after the warm-up")
  parser.add_argument("--input-size", type=int, default=32, help="side of the images fed in")
  args = parser.parse_args()
  variables = inception.variables_from_state_dict(inception_weights.random_state_dict(0))
  extractor = inception.InceptionExtractor(variables, batch_size=args.batch_size)
  images = np.random.default_rng(0).integers(
      0, 256, (extractor.batch_size, args.input_size, args.input_size, 3), dtype=np.uint8)
  start = time.perf_counter()
  extractor(images)  # compiles, then runs once
  first = time.perf_counter() - start
  times = []
  for _ in range(args.batches):
    start = time.perf_counter()
    extractor(images)
    times.append(time.perf_counter() - start)
  median = statistics.median(times)
  print(json.dumps({
      "batch_size": extractor.batch_size, "devices": jax.device_count(),
      "platform": jax.devices()[0].platform, "first_call_s": round(first, 2),
      "batch_s_median": round(median, 3), "images_per_s": round(extractor.batch_size / median, 2),
      "timed_batches": args.batches, "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
      "cpus": os.cpu_count()}))


if __name__ == "__main__":
  main()
