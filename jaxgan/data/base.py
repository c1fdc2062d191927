"""What every data source tells the engine about its examples."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """Describes one example of a data set.

  kind: 'points' (examples {'x': float32 (D,)}) or 'images' (examples {'image': float32 (H, W, C)
  in [-1, 1]}); either may also carry 'label': int32 scalar when num_classes > 0.
  """

  name: str
  kind: str
  shape: tuple[int, ...]
  num_classes: int = 0

  @property
  def example_key(self) -> str:
    return "x" if self.kind == "points" else "image"
