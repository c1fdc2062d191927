"""`jaxgan generate`, `jaxgan interpolate` and `jaxgan prepare`: working with a trained model
and with a data set.

`add_parsers(subparsers)` adds them to jaxgan's argparse subparsers; `run(args, overrides)`
handles a parsed command of any of them (COMMANDS lists their names). Heavy imports happen in
the handlers so `jaxgan --help` stays fast. Every check of the arguments and of the files to be
written runs before a model is loaded; errors are JaxganError (cli.main prints one line, exits 1).
"""

from __future__ import annotations

import os
import re
import sys

COMMANDS = ("generate", "interpolate", "prepare")
MAX_SEED = 2**32 - 1  # jax.random.PRNGKey takes an unsigned 32-bit seed
GRID_MAX = 1024  # the grid shows at most the first this many seeds
STRIP_PER_LEG = 8  # the strip PNG shows at most this many frames per leg of a walk


def add_parsers(subparsers) -> None:
  generate = subparsers.add_parser(
      "generate", help="one PNG per seed (and a grid) from a checkpoint; a seed's image is the "
      "same whatever other seeds are asked")
  _model_arguments(generate)
  generate.add_argument("--seeds", required=True,
                        help="seeds as ranges and numbers: 0-63, 1,5,9 or 0-3,10")
  generate.add_argument("--outdir", required=True,
                        help="folder for seedNNNN.png and grid_SEEDS.png")
  generate.add_argument("--grid-columns", type=int, default=0,
                        help="columns of grid.png (default: about the square root)")

  interpolate = subparsers.add_parser(
      "interpolate", help="a latent walk through two or more seeds as an animated GIF and a "
      "strip PNG (slerp of z; lerp of w for StyleGAN/StyleGAN2)")
  _model_arguments(interpolate)
  interpolate.add_argument("--seeds", required=True,
                           help="two or more seeds, walked in order: 1,7 or 1,7,12,1 (a loop)")
  interpolate.add_argument("--frames", type=int, default=24, help="frames per leg (default 24)")
  interpolate.add_argument("--fps", type=float, default=12.0)
  interpolate.add_argument("--out", required=True, help="FILE.gif")
  interpolate.add_argument("--strip", default=None,
                           help="the strip PNG (default: FILE_strip.png beside the GIF)")

  prepare = subparsers.add_parser(
      "prepare", help="decode and resize an image data set once into ArrayRecord files; train "
      "on them with --config.data.name=prepared --config.data.path=OUT")
  prepare.add_argument("--config", default=None,
                       help="configs/NAME.py: its data section (and --config.data.KEY=VALUE "
                            "overrides) names the data set")
  prepare.add_argument("--folder", default=None, help="or a folder of images (with --image-size)")
  prepare.add_argument("--image-size", type=int, default=None)
  prepare.add_argument("--channels", type=int, default=3, choices=(1, 3))
  prepare.add_argument("--fit", default="center_crop", choices=("center_crop", "resize"))
  prepare.add_argument("--out", required=True, help="the folder to write (must not exist)")
  prepare.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
  prepare.add_argument("--threads", type=int, default=0,
                       help="decoding threads (default: the CPU count)")
  prepare.add_argument("--quiet", action="store_true", help="no progress bar")


def _model_arguments(parser) -> None:
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--step", type=int, default=None,
                      help="the checkpoint (default: the latest)")
  parser.add_argument("--class", dest="label", type=int, default=None, metavar="K",
                      help="class-conditional models: every image of class K (default: "
                           "generate: seed mod the number of classes; interpolate: the first "
                           "seed's)")
  parser.add_argument("--truncation", type=float, default=None, metavar="T",
                      help="BigGAN: resample latent values beyond +-T; StyleGAN/StyleGAN2: psi "
                           "in W (the config's layer cutoff)")
  parser.add_argument("--overwrite", action="store_true",
                      help="replace files that exist (default: refuse)")
  parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args, overrides: dict[str, str] | None = None) -> None:
  from jaxgan import progress  # pylint: disable=g-import-not-at-top
  progress.enabled = not args.quiet
  if args.command == "generate":
    _generate(args)
  elif args.command == "interpolate":
    _interpolate(args)
  else:
    _prepare(args, overrides or {})


# ------------------------------------------------------------------ seeds and files

_SEED_PART = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_seeds(text: str) -> list[int]:
  """'0-63', '1,5,9', '0-3,10,20-22' -> the seeds in the order written (ranges inclusive)."""
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  seeds = []
  for part in text.replace(" ", "").split(","):
    match = _SEED_PART.match(part)
    if not match:
      raise JaxganError(f"--seeds: cannot read {part!r} in {text!r}; write numbers and "
                        "inclusive ranges, e.g. 0-63, 1,5,9 or 0-3,10")
    lo = int(match.group(1))
    hi = int(match.group(2)) if match.group(2) is not None else lo
    if hi < lo:
      raise JaxganError(f"--seeds: range {part!r} runs backwards; write {hi}-{lo}")
    if hi > MAX_SEED:
      raise JaxganError(f"--seeds: {hi} is over {MAX_SEED} (seeds are unsigned 32-bit)")
    seeds.extend(range(lo, hi + 1))
  return seeds


def seed_file(seed: int) -> str:
  return f"seed{seed:04d}.png"


def grid_file(seeds_text: str) -> str:
  """The grid's name says which seeds it shows: grid_0-63.png, grid_1,5,9.png."""
  spec = seeds_text.replace(" ", "")
  if len(spec) > 64:
    spec = spec[:56] + "_etc"
  return f"grid_{spec}.png"


def _check_targets(paths: list[str], overwrite: bool) -> None:
  """Refuses, before anything is computed, to write over files (unless overwrite) or into a
  path whose folder is a file."""
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  for path in paths:
    if os.path.isdir(path):
      raise JaxganError(f"{path} is a folder, not a file to write")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
      parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
      raise JaxganError(f"cannot write {path}: {parent} is a file")
  if overwrite:
    return
  existing = [p for p in paths if os.path.exists(p)]
  if existing:
    more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
    raise JaxganError(f"{existing[0]}{more} exist; pass --overwrite to replace them, or choose "
                      "another output")


def _check_model_args(args) -> None:
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  if args.label is not None and args.label < 0:
    raise JaxganError(f"--class must be >= 0, got {args.label}")


def _load(args):
  """(experiment, state, step) of the workdir, refusing data sets that are not images."""
  from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  _, experiment, state, step = _load_workdir(args.workdir, args.step)
  if experiment.info.kind != "images":
    raise JaxganError(f"{args.command} writes images, but {args.workdir} was trained on "
                      f"{experiment.info.kind} ({experiment.info.name}); use jaxgan sample")
  experiment.trainer.check_truncation(args.truncation)
  return experiment, state, step


def pictures(outputs: dict):
  """uint8 (N, H, W, C) pictures of a trainer's outputs, one per example: its image outputs
  (float arrays (N, H, W, C), in the order the trainer returns them) side by side, each
  scaled by whole pixels to the tallest one's height; gray made RGB when any is RGB."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import visualize  # pylint: disable=g-import-not-at-top
  images = [np.asarray(v) for v in outputs.values()
            if np.asarray(v).ndim == 4 and np.issubdtype(np.asarray(v).dtype, np.floating)]
  height = max(image.shape[1] for image in images)
  rgb = any(image.shape[-1] == 3 for image in images)
  tiles = []
  for image in images:
    factor = max(1, height // image.shape[1])
    image = np.repeat(np.repeat(image, factor, axis=1), factor, axis=2)
    if image.shape[1] < height:  # not a whole multiple: pad below
      image = np.pad(image, ((0, 0), (0, height - image.shape[1]), (0, 0), (0, 0)),
                     constant_values=1.0)
    if rgb and image.shape[-1] == 1:
      image = np.repeat(image, 3, axis=-1)
    tiles.append(image)
  if len(tiles) > 1:  # a one-pixel white gap between the outputs of one example
    gap = np.ones(tiles[0].shape[:2] + (1, tiles[0].shape[-1]), np.float32)
    tiles = [t for tile in tiles for t in (tile, gap)][:-1]
  return visualize.to_uint8(np.concatenate(tiles, axis=2))


# ------------------------------------------------------------------ generate


def _generate(args) -> None:
  import math  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan import progress, visualize  # pylint: disable=g-import-not-at-top
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  seeds = list(dict.fromkeys(parse_seeds(args.seeds)))  # each seed once, in order
  _check_model_args(args)
  if args.grid_columns < 0:
    raise JaxganError(f"--grid-columns must be >= 1, got {args.grid_columns}")
  if os.path.isfile(args.outdir):
    raise JaxganError(f"--outdir {args.outdir} is a file")
  grid_path = os.path.join(args.outdir, grid_file(args.seeds))
  paths = [os.path.join(args.outdir, seed_file(s)) for s in seeds]
  _check_targets(paths + [grid_path], args.overwrite)
  experiment, state, step = _load(args)
  trainer = experiment.trainer
  # Chunks only bound memory and pace the bar: a seed's image does not depend on its chunk.
  chunk = getattr(trainer, "SEED_BATCH", 32)
  kept, labels = [], []
  bar = progress.bar(len(seeds), "generate")
  try:
    for start in range(0, len(seeds), chunk):
      some = seeds[start:start + chunk]
      outputs = trainer.generate_seeds(state, some, args.label, args.truncation)
      batch = pictures(outputs)
      for seed, picture in zip(some, batch):
        visualize.save_png(picture, os.path.join(args.outdir, seed_file(seed)))
      if "labels" in outputs:
        labels.extend(int(y) for y in outputs["labels"])
      if len(kept) < GRID_MAX:
        kept.extend(batch[:GRID_MAX - len(kept)])
      bar.update(len(some))
  finally:
    bar.close()
  columns = args.grid_columns or math.ceil(math.sqrt(len(kept)))
  visualize.save_png(visualize.image_grid(np.stack(kept), columns=columns), grid_path)
  size = f"{kept[0].shape[1]}x{kept[0].shape[0]}"
  classes = ""
  if labels:
    classes = (f", class {args.label}" if args.label is not None else
               ", classes seed mod " + str(trainer.nets.num_classes))
  shown = f"the first {len(kept)}" if len(kept) < len(seeds) else "all"
  print(f"wrote {len(seeds)} images ({size}{classes}) of step {step} to {args.outdir}, and "
        f"{os.path.basename(grid_path)} of {shown}", file=sys.stderr)


# ------------------------------------------------------------------ interpolate


def strip_indices(num_keys: int, frames: int, per_leg: int = STRIP_PER_LEG) -> list[int]:
  """Frames the strip shows: per leg min(frames, per_leg) evenly spaced ones starting at its
  key frame, then the last frame (the last seed's)."""
  shown = min(frames, per_leg)
  indices = []
  for leg in range(num_keys - 1):
    indices += [leg * frames + (j * frames) // shown for j in range(shown)]
  return indices + [(num_keys - 1) * frames]


def _interpolate(args) -> None:
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from jaxgan import visualize  # pylint: disable=g-import-not-at-top
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  seeds = parse_seeds(args.seeds)
  if len(seeds) < 2:
    raise JaxganError(f"--seeds: a walk needs two or more seeds, got {args.seeds!r}")
  if any(a == b for a, b in zip(seeds, seeds[1:])):
    raise JaxganError(f"--seeds: {args.seeds!r} repeats a seed back to back (a leg that goes "
                      "nowhere)")
  _check_model_args(args)
  if args.frames < 1:
    raise JaxganError(f"--frames must be >= 1, got {args.frames}")
  if not args.fps > 0:
    raise JaxganError(f"--fps must be > 0, got {args.fps}")
  root, ext = os.path.splitext(args.out)
  if ext.lower() == ".mp4":
    raise JaxganError("--out: jaxgan writes GIFs only (MP4 would need an ffmpeg dependency); "
                      f"write {root}.gif and convert it, e.g. ffmpeg -i {root}.gif {root}.mp4")
  if ext.lower() != ".gif":
    raise JaxganError(f"--out must name a .gif file, got {args.out}")
  strip = args.strip or root + "_strip.png"
  if not strip.lower().endswith(".png"):
    raise JaxganError(f"--strip must name a .png file, got {strip}")
  _check_targets([args.out, strip], args.overwrite)
  experiment, state, step = _load(args)
  outputs = experiment.trainer.interpolate(state, seeds, args.frames, args.label,
                                           args.truncation)
  frames = pictures(outputs)
  visualize.save_png(visualize.image_grid(frames[strip_indices(len(seeds), args.frames)],
                                          columns=len(strip_indices(len(seeds), args.frames))),
                     strip)
  movie = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
  tmp = args.out + f".{os.getpid()}.tmp.gif"
  try:
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    movie[0].save(tmp, format="GIF", save_all=True, append_images=movie[1:], loop=0,
                  duration=max(1, round(1000.0 / args.fps)))
    os.replace(tmp, args.out)
  except OSError as e:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise JaxganError(f"could not write {args.out}: {e.strerror or e}") from e
  print(f"wrote a {len(frames)}-frame walk through seeds {','.join(map(str, seeds))} of step "
        f"{step} to {args.out} ({args.fps:g} fps) and its strip to {strip}",
        file=sys.stderr)


# ------------------------------------------------------------------ prepare


def _prepare(args, overrides: dict[str, str]) -> None:
  from jaxgan.data import prepared  # pylint: disable=g-import-not-at-top
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  if (args.config is None) == (args.folder is None):
    raise JaxganError("give --config configs/NAME.py (its data section) or --folder DIR, "
                      "not both")
  if args.config is not None:
    from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=g-import-not-at-top
    if args.image_size is not None:
      raise JaxganError("--image-size is for --folder; with --config set "
                        "--config.data.image_size=S")
    data_config = apply_overrides(load_config_file(args.config), overrides).data
  else:
    if overrides:
      raise JaxganError("--config.KEY=VALUE overrides need --config")
    if args.image_size is None:
      raise JaxganError("--folder needs --image-size S (the square size to store)")
    from jaxgan.config import base_config  # pylint: disable=g-import-not-at-top
    data_config = base_config().data
    data_config.update(dict(name="folder", path=args.folder, image_size=args.image_size,
                            channels=args.channels, fit=args.fit))
  if args.threads < 0:
    raise JaxganError(f"--threads must be >= 1, got {args.threads}")
  counts = prepared.prepare(data_config, args.out, overwrite=args.overwrite,
                            threads=args.threads or os.cpu_count() or 1)
  print(f"wrote {', '.join(f'{n} {split}' for split, n in counts.items())} images to {args.out}; "
        f"train on them with --config.data.name=prepared --config.data.path={args.out}",
        file=sys.stderr)
