"""What every data source tells the engine about its examples."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """Describes one example of a data set.

  kind: 'points' (examples {'x': float32 (D,)}) or 'images' (examples {'image': float32 (H, W, C)
  in [-1, 1]}); either may also carry 'label': int32 scalar when num_classes > 0.

  Two-image data sets (jaxgan.data.translation) set `pairing`: 'paired' examples are
  {'input': shape, 'target': shape_b} (pix2pix); 'unpaired' ones {'a': shape, 'b': shape_b} plus
  'label_a' / 'label_b' when num_classes > 0 (CycleGAN, CoGAN). `relation` names what domain B
  is to domain A where that is known: 'negative' (b = -a in [-1, 1], 1 - a on a 0-1 scale).
  """

  name: str
  kind: str
  shape: tuple[int, ...]
  num_classes: int = 0
  pairing: str = ""  # '', 'paired' or 'unpaired'
  shape_b: tuple[int, ...] = ()  # the target's / domain B's shape; () for one-image sets
  relation: str = ""

  @property
  def target_shape(self) -> tuple[int, ...]:
    """The target's / domain B's shape (the only shape of a one-image set)."""
    return self.shape_b or self.shape

  @property
  def example_key(self) -> str:
    return "x" if self.kind == "points" else "image"
