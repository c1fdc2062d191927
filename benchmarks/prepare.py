"""The input pipeline on a folder of JPEGs, read as it is vs prepared (`jaxgan prepare`).

Makes (once) a folder of --count synthetic 256x256 JPEGs (quality 90; smooth colour fields with
edges and grain, about the size of a photo's JPEG), prepares it with `jaxgan prepare` at each
--sizes S, and times the batches of the engine's pipeline (jaxgan.data.pipeline.fetch_batch on
shuffled indices, what each of its prefetch threads does) from the folder source and from the
prepared source: --batches batches of --batch-size after one warm-up batch, in one thread.
Each figure is images/s of wall clock and of CPU time (time.process_time), so a shared, loaded
machine can still compare the two.

  .venv/bin/python benchmarks/prepare.py --dir /tmp/jpegs256 [--count 2000] [--sizes 64,256]

One JSON object per line on stdout (one per size), progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_jpegs(folder: str, count: int, size: int = 256) -> None:
  """count synthetic JPEGs: a coarse random colour field upsampled (smooth regions), a few
  hard-edged rectangles and per-pixel grain, so the codec has photo-like work to do."""
  os.makedirs(folder, exist_ok=True)
  have = {n for n in os.listdir(folder) if n.endswith(".jpg")}
  rng = np.random.default_rng(0)
  for i in range(count):
    coarse = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    name = f"{i:05d}.jpg"
    grain = rng.normal(0, 6, (size, size, 3))
    boxes = rng.integers(0, size, (4, 4))
    if name in have:
      continue
    image = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC), np.float64)
    for x0, y0, x1, y1 in boxes:
      image[min(y0, y1):max(y0, y1), min(x0, x1):max(x0, x1)] *= 0.6
    image = np.clip(image + grain, 0, 255).astype(np.uint8)
    Image.fromarray(image).save(os.path.join(folder, name), quality=90)


def time_batches(source, batch_size: int, batches: int) -> dict:
  """What one worker of the engine's pipeline does per batch (jaxgan.data.pipeline.fetch_batch
  on a shuffled batch of indices), in this thread: wall and CPU seconds per image. (The training
  iterator runs this in grain's prefetch threads, so timing the iterator itself would time its
  buffer, not the work.)"""
  from jaxgan.data.pipeline import fetch_batch  # pylint: disable=g-import-not-at-top
  order = np.random.default_rng(0).permutation(len(source))
  need = (batches + 1) * batch_size
  order = np.resize(order, need)  # wraps around when the split is smaller
  fetch_batch(source, order[:batch_size])  # warm-up: file handles, caches
  wall, cpu = time.perf_counter(), time.process_time()
  for b in range(1, batches + 1):
    batch = fetch_batch(source, order[b * batch_size:(b + 1) * batch_size])
  wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
  assert batch["image"].shape[0] == batch_size
  images = batches * batch_size
  return {"images": images, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
          "images_per_s": round(images / wall, 1), "images_per_cpu_s": round(images / cpu, 1)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dir", required=True, help="folder of the JPEGs (made when missing)")
  parser.add_argument("--count", type=int, default=2000)
  parser.add_argument("--sizes", default="64,256", help="image sizes to train at")
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("--batches", type=int, default=20)
  args = parser.parse_args()
  from jaxgan.data import folder, prepared  # pylint: disable=g-import-not-at-top
  from jaxgan.config import base_config  # pylint: disable=g-import-not-at-top
  print(f"making {args.count} JPEGs in {args.dir}", file=sys.stderr)
  make_jpegs(args.dir, args.count)
  jpeg_bytes = sum(os.path.getsize(os.path.join(args.dir, n)) for n in os.listdir(args.dir))
  for size in (int(s) for s in args.sizes.split(",")):
    out = f"{args.dir.rstrip('/')}_prepared{size}"
    start_wall = time.perf_counter()
    # The command as a user runs it (its own process: its CPU time is the children's).
    before = os.times()
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "jaxgan"), "prepare",
                    "--folder", args.dir, "--image-size", str(size), "--out", out,
                    "--overwrite", "--quiet"], check=True)
    after = os.times()
    prepare_wall = time.perf_counter() - start_wall
    prepare_cpu = (after.children_user - before.children_user
                   + after.children_system - before.children_system)
    data = base_config().data
    data.update(dict(name="folder", path=args.dir, image_size=size, channels=3))
    from_folder = time_batches(folder.load(data, "train")[0], args.batch_size, args.batches)
    data.update(dict(name="prepared", path=out))
    from_prepared = time_batches(prepared.load(data, "train")[0], args.batch_size,
                                  args.batches)
    record = {
        "size": size, "jpegs": args.count, "jpeg_mb": round(jpeg_bytes / 2**20, 1),
        "prepared_mb": round(sum(os.path.getsize(os.path.join(out, n))
                                 for n in os.listdir(out)) / 2**20, 1),
        "prepare_wall_s": round(prepare_wall, 1), "prepare_cpu_s": round(prepare_cpu, 1),
        "folder": from_folder, "prepared": from_prepared,
        "speedup_wall": round(from_prepared["images_per_s"] / from_folder["images_per_s"], 1),
        "speedup_cpu": round(from_prepared["images_per_cpu_s"] / from_folder["images_per_cpu_s"],
                             1),
        "load": os.getloadavg()}
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
  sys.path.insert(0, REPO)
  main()
