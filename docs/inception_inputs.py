"""Inputs for the Inception figures in docs/inception.md, made without any download.

  .venv/bin/python docs/inception_inputs.py --out /tmp/inception_inputs

writes
  seeded_weights.npz: the seeded stand-in weights of jaxgan.metrics.inception_weights (NOT the
    real FID weights, which must be converted from pytorch-fid's .pth; scores made with these
    only exercise the pipeline and mean nothing as FID values);
  digits_a.npz, digits_b.npz: the two halves (first 898, last 899) of the embedded digits' 'all'
    split, upsampled 8x8 -> 32x32 (bicubic, as the training data) and repeated to RGB, as uint8
    `samples` arrays like `jaxgan sample` writes.
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
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  flat = inception_weights.state_dict_to_flat(inception_weights.random_state_dict(args.seed))
  np.savez(os.path.join(args.out, "seeded_weights.npz"), **flat)
  images = to_uint8(np.repeat(resize_images(digits_arrays("all")[0], 32), 3, axis=-1))
  half = len(images) // 2
  np.savez(os.path.join(args.out, "digits_a.npz"), samples=images[:half])
  np.savez(os.path.join(args.out, "digits_b.npz"), samples=images[half:])
  print(f"wrote seeded_weights.npz, digits_a.npz ({half}) and digits_b.npz ({len(images) - half}) "
        f"to {args.out}")


if __name__ == "__main__":
  main()
