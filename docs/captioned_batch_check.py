"""What a GAN's D sees as real on captioned_digits, beside what its G makes (docs/quality.md).

  python docs/captioned_batch_check.py --config configs/dcgan_captioned_digits.py OUT.png
  python docs/captioned_batch_check.py --workdir WORKDIR OUT.png

Takes the first training batch through the engine's input pipeline (train_iterator, then for
StackGAN's Stage-I the trainer's own area downscale), saves it as a grid (upscaled 4x, real batch
on top, then the workdir's generated images, if a workdir is given) and prints, for reals and
fakes, the value range, the share of values beyond +-0.96 (tanh's saturated range; the palette
reaches 0.76) and the digit's share: pixels more than 0.3 from their image's median colour.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def summary(name: str, images: np.ndarray) -> str:
  median = np.median(images.reshape(len(images), -1, images.shape[-1]), axis=1)
  away = np.abs(images - median[:, None, None, :]).max(axis=-1)
  return (f"{name}: {images.shape[1]}x{images.shape[2]}, range [{images.min():.3f}, "
          f"{images.max():.3f}], mean {images.mean():.3f}, beyond +-0.96 "
          f"{(np.abs(images) > 0.96).mean():.3f}, digit share (> 0.3 from the median colour) "
          f"{(away > 0.3).mean():.3f}")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--config", help="a config file (reals only)")
  source.add_argument("--workdir", help="a training run (reals and its latest G's images)")
  parser.add_argument("out", help="the PNG to write")
  parser.add_argument("--num", type=int, default=64)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)

  from jaxgan.config import load_config_file  # pylint: disable=g-import-not-at-top
  from jaxgan.data import registry  # pylint: disable=g-import-not-at-top
  from jaxgan.data.pipeline import train_iterator  # pylint: disable=g-import-not-at-top
  from jaxgan.train.stackgan import area_downscale  # pylint: disable=g-import-not-at-top
  from jaxgan.visualize import image_grid, save_png, to_uint8  # pylint: disable=g-import-not-at-top

  fakes = None
  if args.workdir:
    from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
    config, experiment, state, step = _load_workdir(args.workdir)
    trainer = experiment.trainer
    if config.trainer == "stackgan":
      prompts = trainer.prompts(args.num, 0)
      _, fakes = trainer.generate(state, prompts["embeddings"], seed=0)
    else:
      fakes = trainer.generate_outputs(state, args.num, seed=0)["samples"]
    fakes = np.asarray(fakes, np.float32)
    print(f"{args.workdir} at step {step}")
  else:
    config = load_config_file(args.config)
  source, _ = registry.load(config.data, "train")
  real = np.asarray(next(train_iterator(source, args.num, config.seed))["image"], np.float32)
  if config.trainer == "stackgan":  # Stage-I's D sees the batch area-downscaled on the device
    real = np.asarray(area_downscale(real, real.shape[1] // int(config.stage1_size)))
  print(summary("real", real))
  rows = [real]
  if fakes is not None:
    print(summary("generated", fakes))
    rows.append(fakes)
  grid = image_grid(to_uint8(np.concatenate(rows)), columns=8)
  save_png(np.kron(grid, np.ones((4, 4, 1), np.uint8)), args.out)
  print(f"wrote {args.out}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
