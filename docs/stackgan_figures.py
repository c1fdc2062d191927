"""The StackGAN picture of docs/text_to_image.md: rows of caption | the test render it was written
for | Stage-I's image (nearest-upscaled) | Stage-II's (Stage-II runs), fixed captions and noise.

  python docs/stackgan_figures.py WORKDIR [OUT.png] [--rows N]
"""

from __future__ import annotations

import argparse
import sys
import textwrap

import numpy as np
from PIL import Image, ImageDraw


def _to_pil(image: np.ndarray, size: int) -> Image.Image:
  array = np.clip((np.asarray(image, np.float32) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
  return Image.fromarray(array).resize((size, size), Image.NEAREST)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("workdir")
  parser.add_argument("out", nargs="?", default="docs/images/stackgan_digits.png")
  parser.add_argument("--rows", type=int, default=6)
  parser.add_argument("--seed", type=int, default=0, help="which test captions")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)

  from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
  _, experiment, state, step = _load_workdir(args.workdir)
  trainer = experiment.trainer
  prompts = trainer.prompts(args.rows, args.seed)
  samples, low = trainer.generate(state, prompts["embeddings"], seed=args.seed)
  columns = [prompts["images"], low] + ([samples] if trainer.stage == 2 else [])
  cell, text_width = 128, 300
  sheet = Image.new("RGB", (text_width + len(columns) * (cell + 4), args.rows * (cell + 4) + 20),
                    "white")
  draw = ImageDraw.Draw(sheet)
  titles = ["caption", "test render", "Stage-I", "Stage-II"][:len(columns) + 1]
  for i, title in enumerate(titles):
    draw.text((4 if i == 0 else text_width + (i - 1) * (cell + 4) + 4, 4), title, fill="black")
  for r in range(args.rows):
    y = 20 + r * (cell + 4)
    caption = str(prompts.get("captions", [""] * args.rows)[r])
    draw.multiline_text((4, y + 4), "\n".join(textwrap.wrap(caption, 46)[:7]), fill="black")
    for c, images in enumerate(columns):
      sheet.paste(_to_pil(images[r], cell), (text_width + c * (cell + 4), y))
  sheet.save(args.out)
  print(f"{args.out} (step {step})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
