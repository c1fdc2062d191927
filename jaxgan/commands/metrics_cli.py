"""`jaxgan inception convert PTH OUT.npz` and `jaxgan score --real ... --fake ...`.

`add_parsers(subparsers)` adds both to jaxgan's argparse subparsers; `run(args)` handles a parsed
command of either (COMMANDS lists their names). Heavy imports (jax, the network) happen inside
the handlers so `jaxgan --help` stays fast. Errors are JaxganError: cli.main prints one line and
exits 1.
"""

from __future__ import annotations

import json
import os
import sys
import time

COMMANDS = ("inception", "score")


def add_parsers(subparsers) -> None:
  inception = subparsers.add_parser(
      "inception", help="the FID Inception network's weights (convert pytorch-fid's .pth once)")
  actions = inception.add_subparsers(dest="inception_command", required=True)
  convert = actions.add_parser(
      "convert", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth -> jaxgan's .npz "
      "(needs torch, once)")
  convert.add_argument("pth", metavar="PTH")
  convert.add_argument("out", metavar="OUT.npz")

  score = subparsers.add_parser(
      "score", help="FID/KID/IS/precision-recall of two image sets in Inception space; one JSON line")
  score.add_argument("--real", default=None,
                     help="DIR, tfds:NAME[:SPLIT] or STATS.npz (pytorch-fid's mu/sigma; FID only)")
  score.add_argument("--fake", required=True, help="DIR or FILE.npz (a `samples` uint8 array)")
  score.add_argument("--metrics", default="fid", help="comma-separated: fid,kid,is,pr (default fid)")
  score.add_argument("--num", type=int, default=None,
                     help="score the first N images of each set (default: all)")
  score.add_argument("--weights", default=None,
                     help="converted Inception .npz (default: $JAXGAN_INCEPTION_WEIGHTS)")
  score.add_argument("--batch-size", type=int, default=64)
  score.add_argument("--resize", choices=("pytorch-fid", "clean"), default="pytorch-fid",
                     help="pytorch-fid's in-network bilinear resize, or clean-fid's PIL bicubic")
  score.add_argument("--seed", type=int, default=0, help="KID's subset draws")
  score.add_argument("--no-progress", "--quiet", dest="no_progress", action="store_true",
                     help="no progress bar (there is none either when stderr is not a terminal)")


def run(args) -> None:
  if args.command == "inception":
    _convert(args)
  else:
    _score(args)


def _convert(args) -> None:
  from jaxgan.metrics.inception_weights import convert_pytorch_fid_weights  # pylint: disable=g-import-not-at-top
  digest = convert_pytorch_fid_weights(args.pth, args.out)
  print(f"wrote {args.out} (sha256 {digest[:16]}); use it with --weights, "
        f"eval.inception_weights or $JAXGAN_INCEPTION_WEIGHTS", file=sys.stderr)


def _score(args) -> None:
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics import image_sets  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics.inception_metrics import InceptionScorer, load_stats, parse_metrics  # pylint: disable=g-import-not-at-top
  start = time.time()
  metrics = parse_metrics(args.metrics)
  if args.batch_size < 1:
    raise JaxganError(f"--batch-size must be >= 1, got {args.batch_size}")
  needs_real = [m for m in metrics if m != "is"]
  if needs_real and not args.real:
    raise JaxganError(f"{', '.join(needs_real)} need --real")
  # Open (and so check) both sets before loading weights or compiling anything.
  fake = image_sets.open_image_set(args.fake, args.num)
  real = None
  if args.real and needs_real:
    if args.real.endswith(".npz") and not args.real.startswith("tfds:"):
      real = _stats_or_samples(args.real, args.num)
    else:
      real = image_sets.open_image_set(args.real, args.num)
  if isinstance(real, str):
    needs_features = [m for m in metrics if m in ("kid", "pr")]
    if needs_features:
      raise JaxganError(f"{args.real} holds statistics only; {', '.join(needs_features)} need "
                        "the real images")
    load_stats(real)  # checked now, before the weights load and the fake images run
  scorer = InceptionScorer(metrics, weights=args.weights, batch_size=args.batch_size,
                           resize=args.resize, progress=not args.no_progress, seed=args.seed)
  reference = scorer.reference(real) if real is not None else None
  scores = scorer.score(fake, reference)
  scores["metrics"] = list(metrics)
  scores["resize"] = args.resize
  scores["weights_sha256"] = scorer.weights_id
  scores["seconds"] = round(time.time() - start, 2)
  print(json.dumps(scores))


def _stats_or_samples(path: str, num):
  """A statistics file (mu/sigma) stays a path for InceptionScorer.reference; samples open."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics import image_sets  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise JaxganError(f"no such file: {path}")
  try:
    with np.load(path, allow_pickle=False) as data:
      names = set(data.files)
  except (OSError, ValueError) as e:
    raise JaxganError(f"{path} is not a readable .npz: {e}") from e
  if {"mu", "sigma"} <= names:
    return path
  return image_sets.npz_images(path, num)
