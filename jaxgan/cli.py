"""jaxgan train | sample | mix | evaluate | score | inception convert | generate | interpolate |
prepare | convert."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import traceback

from jaxgan.commands import convert_cli, metrics_cli, workflow_cli

USAGE_ERROR = 2


def _parser():
  parser = argparse.ArgumentParser(prog="jaxgan", description=__doc__)
  parser.add_argument("--debug", action="store_true",
                      help="print the traceback of an error (also JAXGAN_DEBUG=1)")
  sub = parser.add_subparsers(dest="command", required=True)
  train = sub.add_parser("train", help="train (resuming from the workdir's latest checkpoint)")
  train.add_argument("--config", required=True, help="configs/NAME.py")
  train.add_argument("--workdir", required=True)
  train.add_argument("--no-tensorboard", action="store_true",
                     help="write JSONL and console logs only, even where TensorFlow is installed")
  train.add_argument("--allow-config-change", action="store_true",
                     help="resume although the config differs from the recorded one in more "
                          "than steps, logging, sampling and evaluation settings")
  train.add_argument("--resume-from-previous", action="store_true",
                     help="when the latest checkpoint is unreadable, resume from the newest "
                          "intact one (the unreadable one is moved aside, not deleted)")
  sample = sub.add_parser("sample", help="write samples of a checkpoint to an .npz")
  sample.add_argument("--workdir", required=True)
  sample.add_argument("--step", type=int, default=None,
                      help="the checkpoint to sample (default: the latest)")
  sample.add_argument("--num", type=int, default=None,
                      help="samples to write (required unless --captions is given)")
  sample.add_argument("--captions", default=None, metavar="FILE.txt",
                      help="text-to-image trainers: one caption per line, embedded by the "
                           "bundled text encoder, one sample each")
  sample.add_argument("--out", required=True, help="FILE.npz")
  sample.add_argument("--seed", type=int, default=0)
  sample.add_argument("--truncation", type=float, default=None, metavar="T",
                      help="BigGAN's truncation trick: resample latent values beyond +-T; "
                      "StyleGAN/StyleGAN2: psi in W (0: the average image; the config's cutoff)")
  mix = sub.add_parser("mix", help="write the style-mixing grid of a StyleGAN/StyleGAN2 "
                       "checkpoint as PNG (rows of source B, columns of source A, per band)")
  mix.add_argument("--workdir", required=True)
  mix.add_argument("--step", type=int, default=None,
                   help="the checkpoint to sample (default: the latest)")
  mix.add_argument("--out", required=True, help="FILE.png")
  mix.add_argument("--rows", type=int, default=3, help="source-B latents (per band)")
  mix.add_argument("--columns", type=int, default=5, help="source-A latents")
  mix.add_argument("--seed", type=int, default=0)
  mix.add_argument("--truncation", type=float, default=None, metavar="PSI",
                   help="truncation psi in W for both sources (default 1: none)")
  evaluate = sub.add_parser("evaluate", help="score a checkpoint; one JSON line")
  evaluate.add_argument("--workdir", required=True)
  evaluate.add_argument("--step", type=int, default=None,
                        help="the checkpoint to score (default: the latest)")
  evaluate.add_argument("--num-samples", type=int, default=0,
                        help="samples to score (default: the config's eval.num_samples)")
  evaluate.add_argument("--truncation", type=float, default=None, metavar="T",
                        help="score samples drawn with the truncation trick at T (BigGAN's "
                        "threshold on z; psi in W for the style models)")
  evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
  metrics_cli.add_parsers(sub)
  workflow_cli.add_parsers(sub)
  convert_cli.add_parser(sub)
  return parser


_OVERRIDE = re.compile(r"^--config\.([A-Za-z0-9_.]+)=(.*)$")


def _split_overrides(parser, extra: list[str]) -> dict[str, str]:
  overrides = {}
  for arg in extra:
    match = _OVERRIDE.match(arg)
    if not match:
      parser.error(f"unrecognized argument {arg!r} (config overrides look like "
                   "--config.KEY=VALUE)")
    overrides[match.group(1)] = match.group(2)
  return overrides


def _quiet_libraries():
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
  logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
  try:
    from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
    absl_logging.set_verbosity(absl_logging.WARNING)
  except ImportError:
    pass
  for name in ("absl", "orbax", "jax._src.xla_bridge"):
    logging.getLogger(name).setLevel(logging.WARNING)


def _load_workdir(workdir: str, step: int | None = None):
  """The config a workdir was last trained with, its experiment and the train state of
  checkpoint `step` (default the latest), on this machine's devices."""
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  from jaxgan.train.checkpoints import Checkpointer  # pylint: disable=g-import-not-at-top
  from jaxgan.train.experiment import Experiment  # pylint: disable=g-import-not-at-top
  import ml_collections  # pylint: disable=g-import-not-at-top

  path = os.path.join(workdir, "config.json")
  if not os.path.isfile(path):
    raise JaxganError(f"{workdir} holds no training run (no config.json)")
  try:
    with open(path, encoding="utf-8") as f:
      config = ml_collections.ConfigDict(json.load(f))
  except (json.JSONDecodeError, OSError) as e:
    raise JaxganError(f"{path} is not a readable config: {e}") from e
  experiment = Experiment(config)
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise JaxganError(f"{workdir} has no checkpoint yet")
  checkpointer = Checkpointer(workdir, config.keep_checkpoints)
  try:
    if checkpointer.latest_step() is None:
      raise JaxganError(f"{workdir} has no checkpoint yet")
    if step is None:
      state, step = checkpointer.restore_latest(experiment.abstract_state,
                                                command="--step {step}")
    else:
      state = checkpointer.restore(step, experiment.abstract_state)
  finally:
    checkpointer.close()
  return config, experiment, state, step


def _cmd_train(args, overrides):
  from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=g-import-not-at-top
  from jaxgan.train.loop import train_and_evaluate  # pylint: disable=g-import-not-at-top
  config = apply_overrides(load_config_file(args.config), overrides)
  train_and_evaluate(config, args.workdir, tensorboard=not args.no_tensorboard,
                     allow_config_change=args.allow_config_change,
                     resume_from_previous=args.resume_from_previous)
  print(f"training finished: {config.steps} steps in {args.workdir}", file=sys.stderr)


def _cmd_sample(args):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  captions = _read_captions(args.captions) if args.captions is not None else None
  if captions is not None and args.num is not None:
    raise JaxganError("give --num or --captions, not both")
  if captions is None and args.num is None:
    raise JaxganError("--num is required (or --captions FILE.txt for text-to-image trainers)")
  if captions is None and args.num < 1:
    raise JaxganError(f"--num must be >= 1, got {args.num}")
  if not args.out.endswith(".npz"):
    raise JaxganError(f"--out must name an .npz file, got {args.out}")
  if os.path.isdir(args.out):
    raise JaxganError(f"--out {args.out} is a folder; name an .npz file")
  parent = os.path.dirname(os.path.abspath(args.out))
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    raise JaxganError(f"cannot write --out {args.out}: {parent} is a file")
  _, experiment, state, step = _load_workdir(args.workdir, args.step)
  experiment.trainer.check_truncation(args.truncation)
  if captions is not None:
    if args.truncation is not None:
      raise JaxganError("--truncation does not apply with --captions")
    out = experiment.trainer.sample_captions(state, captions, args.seed)
  else:
    out = experiment.trainer.sample_outputs(state, args.num, args.seed, args.truncation)
  # Written to a temporary file and renamed: a failed write never leaves half an .npz where
  # an older one was.
  tmp = args.out[:-len(".npz")] + f".{os.getpid()}.tmp.npz"
  try:
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(tmp, **out)
    os.replace(tmp, args.out)
  except OSError as e:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise JaxganError(f"could not write {args.out}: {e.strerror or e}") from e
  num = len(captions) if captions is not None else args.num
  samples = out.get("samples")
  at = ""
  if samples is not None and samples.ndim == 4:
    at = f" at {samples.shape[1]}x{samples.shape[2]}"
  print(f"wrote {num} samples of step {step}{at} to {args.out}", file=sys.stderr)


def _read_captions(path: str) -> list[str]:
  """The non-empty lines of a caption file, stripped."""
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  try:
    with open(path, encoding="utf-8") as f:
      captions = [line.strip() for line in f if line.strip()]
  except (OSError, UnicodeDecodeError) as e:
    raise JaxganError(f"cannot read captions from {path}: {type(e).__name__}") from e
  if not captions:
    raise JaxganError(f"{path} holds no captions (one per line)")
  return captions


def _cmd_mix(args):
  from jaxgan import visualize  # pylint: disable=g-import-not-at-top
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  if not args.out.endswith(".png"):
    raise JaxganError(f"--out must name a .png file, got {args.out}")
  if args.rows < 1 or args.columns < 1:
    raise JaxganError(f"--rows and --columns must be >= 1, got {args.rows} and {args.columns}")
  _, experiment, state, step = _load_workdir(args.workdir, args.step)
  grid, bands = experiment.trainer.style_mixing_grid(state, args.rows, args.columns, args.seed,
                                                     args.truncation)
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  visualize.save_png(grid, args.out)
  print(f"wrote the style-mixing grid of step {step} ({', '.join(bands)} styles from the rows) "
        f"to {args.out}", file=sys.stderr)


def _cmd_evaluate(args):
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  if args.num_samples < 0:
    raise JaxganError(f"--num-samples must be >= 1, got {args.num_samples}")
  from jaxgan import progress  # pylint: disable=g-import-not-at-top
  progress.enabled = not args.quiet
  _, experiment, state, step = _load_workdir(args.workdir, args.step)
  experiment.trainer.check_truncation(args.truncation)
  if not experiment.evaluators:
    raise JaxganError(f"the config of {args.workdir} declares no evaluators (config.evals); "
                      f"none are defined for data set {experiment.info.name!r} with the "
                      f"{experiment.config.trainer!r} trainer yet")
  scores = {"step": step, **experiment.evaluate(state, args.num_samples or None,
                                                args.truncation)}
  line = json.dumps(scores)
  print(line, flush=True)  # the scores first: a workdir that cannot be written does not lose them
  path = os.path.join(args.workdir, "evaluation.json")
  try:
    with open(path + ".tmp", "w", encoding="utf-8") as f:
      f.write(line + "\n")
    os.replace(path + ".tmp", path)
  except OSError as e:
    raise JaxganError(f"could not write {path} ({e.strerror or e}); the scores are on stdout "
                      "above") from e


def main(argv=None):
  parser = _parser()
  args, extra = parser.parse_known_args(argv)
  takes_overrides = args.command in ("train", "prepare")
  overrides = _split_overrides(parser, extra) if takes_overrides else {}
  if extra and not takes_overrides:
    parser.error(f"unrecognized arguments: {' '.join(extra)}")
  _quiet_libraries()
  debug = args.debug or os.environ.get("JAXGAN_DEBUG", "") not in ("", "0")
  try:
    from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
    from jaxgan.train.loop import Interrupted  # pylint: disable=g-import-not-at-top
    if args.command == "train":
      _cmd_train(args, overrides)
    elif args.command == "sample":
      _cmd_sample(args)
    elif args.command == "mix":
      _cmd_mix(args)
    elif args.command in metrics_cli.COMMANDS:
      metrics_cli.run(args)
    elif args.command in workflow_cli.COMMANDS:
      workflow_cli.run(args, overrides)
    elif args.command == convert_cli.COMMAND:
      convert_cli.run(args)
    else:
      _cmd_evaluate(args)
  except KeyboardInterrupt:  # Ctrl-C outside the training loop, whose handler checkpoints
    if debug:
      traceback.print_exc()
    print("jaxgan: interrupted", file=sys.stderr)
    return 130
  except Exception as e:  # pylint: disable=broad-except
    if debug:
      traceback.print_exc()
    if type(e).__name__ == "Interrupted":
      print(f"jaxgan: {e}", file=sys.stderr)
      return 128 + e.signum
    print(f"jaxgan: error: {_error_line(e)}", file=sys.stderr)
    return 1
  return 0


def _error_line(error: Exception) -> str:
  """One line for any error: ours as they are, file-system errors by path and cause, anything
  else as an internal error (the traceback is behind --debug)."""
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  if isinstance(error, JaxganError):
    text = str(error)
  elif isinstance(error, OSError):
    where = f"{error.filename}: " if error.filename else ""
    text = f"{where}{error.strerror or error}"
  else:
    first = (str(error).strip().splitlines() or [""])[0]
    text = (f"internal error {type(error).__name__}: {first} (rerun with --debug for the "
            "traceback, and please report it)")
  return " ".join(text.split("\n"))


if __name__ == "__main__":
  sys.exit(main())
