"""Data sets in one registry: a key -> the builder that loads it, each builder in its own file.

A builder is `load(data_config, split) -> (source, DataInfo)`; `split` is 'train' or 'test'.
Keys: an embedded set's name (ring8, grid25, digits, digits_negative, photos, labels, ...);
'folder/<layout>' for data.name='folder' (layout 'images', 'side_by_side', 'unpaired');
'tfds/<domain_b>' for data.name='tfds:NAME' (domain_b 'images', 'split', 'negative').
"""

from __future__ import annotations

from typing import Callable

from jaxgan.errors import JaxganError

BUILDERS: dict[str, Callable] = {}
LAYOUTS = ("", "side_by_side", "unpaired")
DOMAIN_B = ("", "negative", "split")


def register(*keys: str):
  def decorate(builder):
    for key in keys:
      if key in BUILDERS:
        raise ValueError(f"data set {key!r} registered twice")
      BUILDERS[key] = builder
    return builder
  return decorate


def embedded_names() -> list[str]:
  return sorted(k for k in BUILDERS if "/" not in k)


def key_of(data_config) -> str:
  """The registry key of a data config, with one-line errors for keys that do not fit."""
  name, layout, domain_b = data_config.name, data_config.layout, data_config.domain_b
  if layout not in LAYOUTS:
    raise JaxganError(f"data.layout must be one of {LAYOUTS}, got {layout!r}")
  if domain_b not in DOMAIN_B:
    raise JaxganError(f"data.domain_b must be one of {DOMAIN_B}, got {domain_b!r}")
  if layout and name != "folder":
    raise JaxganError(f"data.layout={layout!r} is for data.name='folder', not {name!r}")
  if domain_b and not name.startswith("tfds:"):
    raise JaxganError(f"data.domain_b={domain_b!r} is for tfds data sets (data.name='tfds:...'), "
                      f"not {name!r}")
  if name == "folder":
    return "folder/" + (layout or "images")
  if name.startswith("tfds:"):
    return "tfds/" + (domain_b or "images")
  if name not in BUILDERS:
    raise JaxganError(f"unknown data set {name!r}; expected one of "
                      f"{', '.join(embedded_names())}, 'folder' or 'tfds:NAME'")
  return name


def load(data_config, split: str = "train"):
  return BUILDERS[key_of(data_config)](data_config, split)
