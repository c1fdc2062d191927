"""Inputs for the Inception figures in docs/inception.md, made without any download.

  .venv/bin/python docs/inception_inputs.py --out /tmp/inception_inputs

writes
  seeded_weights.npz: the seeded stand-in weights of jaxgan.metrics.inception_weights (NOT the
    real FID weights, which must be converted from pytorch-fid's .pth; scores made with these
    only exercise the pipeline and mean nothing as FID values);
  digits_a.npz, digits_b.npz: the two halves (first 898, last 899) of the embedded digits' 'all'
    split, upsampled 8x8 -> 32x32 (bicubic, as the training data) and repeated to RGB, as uint8
    `samples` arrays like `jaxgan sample` writes;
  with --samples FILE.npz (e.g. `jaxgan sample` of a dcgan_digits run), also FILE_32.npz: those
    samples upsampled to 32x32 the same way (bicubic, RGB), to score against a half.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from jaxgan.data import resize_images
from jaxgan.data.embedded import digits_arrays
from jaxgan.metrics import inception_weights
from jaxgan.visualize import to_uint8


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", required=True, help="folder to write into")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--samples", default=None, help="a `jaxgan sample` .npz to upsample too")
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  flat = inception_weights.state_dict_to_flat(inception_weights.random_state_dict(args.seed))
  np.savez(os.path.join(args.out, "seeded_weights.npz"), **flat)
  images = to_uint8(np.repeat(resize_images(digits_arrays("all")[0], 32), 3, axis=-1))
  half = len(images) // 2
  np.savez(os.path.join(args.out, "digits_a.npz"), samples=images[:half])
  np.savez(os.path.join(args.out, "digits_b.npz"), samples=images[half:])
  if args.samples:
    with np.load(args.samples) as data:
      samples = data["samples"].astype(np.float32) / 127.5 - 1.0
    upsampled = to_uint8(resize_images(samples, 32))
    if upsampled.shape[-1] == 1:
      upsampled = np.repeat(upsampled, 3, axis=-1)
    name = os.path.splitext(os.path.basename(args.samples))[0] + "_32.npz"
    np.savez(os.path.join(args.out, name), samples=upsampled)
    print(f"wrote {name} ({len(upsampled)} samples at 32x32)")
  print(f"wrote seeded_weights.npz, digits_a.npz ({half}) and digits_b.npz ({len(images) - half}) "
        f"to {args.out}")


if __name__ == "__main__":
  main()
