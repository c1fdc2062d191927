"""The StackGAN pictures of docs/text_to_image.md.

  python docs/stackgan_figures.py WORKDIR [OUT.png] [--rows N]
      rows of caption | the test render it was written for | Stage-I's image (nearest-upscaled)
      | Stage-II's (Stage-II runs), fixed captions and noise;
  python docs/stackgan_figures.py WORKDIR OUT.png --interpolate "CAPTION A" "CAPTION B"
      per row one z and CA noise, the embedding moved from caption A's to B's in --steps steps
      (Stage-I row above the Stage-II row in Stage-II runs);
  python docs/stackgan_figures.py WORKDIR OUT.png --classes "a red {} on a white background"
      per row one z and CA noise, the template with each of the ten digit words: whether the
      class in the caption reaches the image.
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
  parser.add_argument("--interpolate", nargs=2, metavar="CAPTION")
  parser.add_argument("--classes", metavar="TEMPLATE", help="a caption with {} for the digit word")
  parser.add_argument("--steps", type=int, default=8)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)

  from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
  _, experiment, state, step = _load_workdir(args.workdir)
  trainer = experiment.trainer
  if args.interpolate or args.classes:
    return _same_noise_rows(trainer, state, step, args)
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


def _same_noise_rows(trainer, state, step, args) -> int:
  """Rows of images that share z and the CA noise (one seed per row), the caption varying."""
  from jaxgan.data.captioned_digits import DIGIT_WORDS  # pylint: disable=g-import-not-at-top
  from jaxgan.text.encoder import embed_captions  # pylint: disable=g-import-not-at-top
  if args.interpolate:
    ends = embed_captions(list(args.interpolate), trainer.config.data.text_encoder)
    weights = np.linspace(0.0, 1.0, args.steps)[:, None]
    embeddings = (1.0 - weights) * ends[0] + weights * ends[1]
    labels = [" -> ".join(args.interpolate)]
  else:
    embeddings = embed_captions([args.classes.format(w) for w in DIGIT_WORDS],
                                trainer.config.data.text_encoder)
    labels = [args.classes.format("0..9")]
  cell = 64
  per_row = 2 if trainer.stage == 2 else 1
  sheet = Image.new("RGB", (len(embeddings) * (cell + 2), 16 + args.rows * per_row * (cell + 2)),
                    "white")
  ImageDraw.Draw(sheet).text((2, 2), labels[0], fill="black")
  for r in range(args.rows):
    # A batch of one per image with the row's seed: the same z and CA noise across the row.
    outs = [trainer.generate(state, e[None], seed=r) for e in embeddings]
    for c, (high, low) in enumerate(outs):
      images = [low[0], high[0]] if trainer.stage == 2 else [low[0]]
      for k, image in enumerate(images):
        sheet.paste(_to_pil(image, cell), (c * (cell + 2), 16 + (r * per_row + k) * (cell + 2)))
  sheet.save(args.out)
  print(f"{args.out} (step {step})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
