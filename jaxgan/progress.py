"""Progress bars for long work (Inception features, prepare, generate): tqdm on stderr.

A bar shows only when stderr is a terminal (tqdm's disable=None), so logs, pipes and tests get
none, and never when a command was given --quiet (`enabled = False`). stdout is left alone: the
JSON lines of `evaluate` and `score` are unchanged.
"""

from __future__ import annotations

import sys

enabled = True  # the commands' --quiet sets it to False


def bar(total: int | None, desc: str, unit: str = "img"):
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
              file=sys.stderr, disable=True if not enabled else None)
