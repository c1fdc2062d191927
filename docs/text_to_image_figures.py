"""The captioned_digits picture of docs/text_to_image.md: test renders with one caption each.

  python docs/text_to_image_figures.py [OUT.png]
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
from PIL import Image, ImageDraw

from jaxgan.data.captioned_digits import captioned_digits


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  out = argv[0] if argv else "docs/images/captioned_digits.png"
  data = captioned_digits("test")
  columns, rows, scale, text_height = 4, 3, 2, 60
  cell_w, cell_h = 64 * scale * 2, 64 * scale + text_height
  sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), "white")
  draw = ImageDraw.Draw(sheet)
  picks = np.linspace(0, len(data["images"]) - 1, columns * rows).astype(int)
  for n, i in enumerate(picks):
    x, y = (n % columns) * cell_w, (n // columns) * cell_h
    image = Image.fromarray(data["images"][i]).resize((64 * scale, 64 * scale), Image.NEAREST)
    sheet.paste(image, (x + (cell_w - 64 * scale) // 2, y))
    lines = textwrap.wrap(data["captions"][i][n % 10], 40)
    draw.multiline_text((x + 4, y + 64 * scale + 2), "\n".join(lines[:4]), fill="black")
  sheet.save(out)
  print(out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
