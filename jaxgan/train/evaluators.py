"""Evaluators a config declares, run over what the trainer generates.

    c.evals.digits = dict(every=1000)                  # the type defaults to the name
    c.evals.ring = dict(type="modes", every=0)          # 0: at the end of training only
    c.evals.fine = dict(type="digits", num_samples=5000)  # default: config.eval.num_samples
    c.evals.inception = dict(every=5000, num_samples=50000, metrics="fid,is", split="train")
    c.evals.ppl_w = dict(type="ppl", space="w", sampling="end")  # the type's own options

Each evaluator type reads named arrays from `trainer.generate_outputs` (see the contract) and
returns a dict of floats. Its scores are logged as they are when the evaluator's name is its
type, else under `NAME/`. `check_evaluators` refuses, before training, an evaluator whose
inputs the trainer does not generate or whose reference the data set does not have.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from jaxgan.errors import JaxganError

EVAL_SEED = None  # generate_outputs' fixed evaluation draw


@dataclasses.dataclass(frozen=True)
class EvaluatorType:
  fn: Callable  # fn(outputs: dict, info) -> dict[str, float]; with options, also (config, **opts)
  needs: tuple[str, ...]  # the generate_outputs arrays it reads
  data: Callable  # info -> None if the data set suits it, else why not
  # Its own options (name -> default), set in its config entry beside type/every/num_samples;
  # fn then takes them and the config: fn(outputs, info, config=..., **options).
  options: tuple[tuple[str, Any], ...] = ()
  check: Callable | None = None  # check(config, **options): one-line errors before training
  # generate(trainer, state, num, seed, **options) -> outputs, for a type that does not read
  # generate_outputs (PPL's image pairs); trainer_check(trainer) -> None or why not.
  generate: Callable | None = None
  trainer_check: Callable | None = None


def _modes(outputs, info):
  from jaxgan.data.embedded import POINT_MIXTURES  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics.points import mode_metrics  # pylint: disable=g-import-not-at-top
  mixture = POINT_MIXTURES[info.name]
  return mode_metrics(outputs["samples"], mixture.modes, mixture.std)


def _grey(images):
  return images.mean(axis=-1, keepdims=True) if images.shape[-1] == 3 else images


def _digits(outputs, info):
  del info
  from jaxgan.metrics.digits import digits_metrics  # pylint: disable=g-import-not-at-top
  return digits_metrics(_grey(outputs["samples"]), outputs.get("labels"))


def l1_01(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """Per-image mean absolute difference on a 0-1 scale of [-1, 1] images."""
  diff = np.abs(np.clip(x, -1, 1) - np.clip(y, -1, 1)) / 2.0
  return diff.reshape(diff.shape[0], -1).mean(axis=1)


def psnr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """Per-image PSNR in dB on a 0-1 scale (peak 1) of [-1, 1] images."""
  diff = (np.clip(x, -1, 1) - np.clip(y, -1, 1)) / 2.0
  mse = np.mean(np.square(diff.reshape(diff.shape[0], -1)), axis=1)
  return 10.0 * np.log10(1.0 / np.maximum(mse, 1e-10))


def _translation(outputs, info):
  del info
  samples, targets = outputs["samples"], outputs["targets"]
  return {"l1": float(np.mean(l1_01(samples, targets))),
          "psnr": float(np.mean(psnr(samples, targets))), "num_test": float(len(samples))}


def coupling_scores(a: np.ndarray, b: np.ndarray, digits: bool, seed: int = 0) -> dict:
  """Correspondence of generated pairs (a, b) whose b should be a's negative: pair_l1, the mean
  |a - (1 - b)| (0-1 scale), against the same with the b's shuffled (pair_l1_shuffled), and
  their ratio; with digits, each domain's Fréchet distance (and KID, IS) by the digits
  classifier, negatives scored as 1 - b."""
  shuffled = b[np.random.default_rng(seed).permutation(len(b))]
  pair = float(np.mean(l1_01(a, -b)))
  base = float(np.mean(l1_01(a, -shuffled)))
  scores = {"pair_l1": pair, "pair_l1_shuffled": base, "pair_ratio": pair / max(base, 1e-12)}
  if digits and len(a) >= 10:
    from jaxgan.metrics.digits import digits_metrics  # pylint: disable=g-import-not-at-top
    for name, images in (("a", a), ("b", -b)):
      metrics = digits_metrics(images, seed=seed)
      scores.update({f"fd_{name}": metrics["fd"], f"kid_{name}": metrics["kid"],
                     f"is_{name}": metrics["is"]})
  return scores


def _segmentation(outputs, info):
  """pix2pix's FCN-score on the labels data set: the facade segmenter
  (jaxgan.metrics.labels_segmenter) on the translations, against the class maps the inputs
  encode: pixel_acc, class_acc, class_iou; the same on the real targets (real_*: the ceiling);
  and the translations' mean gradient over the targets' (gradient_ratio: below 1 is blur)."""
  del info
  from jaxgan.data.labels import decode_map  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics import labels_segmenter  # pylint: disable=g-import-not-at-top
  segmenter = labels_segmenter.load_segmenter()
  truth = decode_map(outputs["inputs"])
  scores = segmenter.scores(outputs["samples"], truth)
  scores.update({f"real_{k}": v for k, v in segmenter.scores(outputs["targets"], truth).items()})
  scores["gradient_ratio"] = (labels_segmenter.mean_gradient(outputs["samples"])
                              / labels_segmenter.mean_gradient(outputs["targets"]))
  return scores


def _needs_labels(info):
  if info.name != "labels":
    return f"needs the labels data set (its segmenter), not {info.name!r}"
  return None


def _coupling(outputs, info):
  return coupling_scores(outputs["samples_a"], outputs["samples_b"],
                         digits=info.name == "digits_negative")


def _cycle(outputs, info):
  """Cycle L1 per domain (0-1 scale); where domain B is A's negative, L1 of each translation to
  the true counterpart; on digits_negative, the share of translations the digits classifier
  gives the source image's class (a translated negative is negated back into a digit)."""
  a, b = outputs["inputs_a"], outputs["inputs_b"]
  ab, ba = outputs["samples_ab"], outputs["samples_ba"]
  scores = {"cycle_l1_a": float(np.mean(l1_01(outputs["cycles_a"], a))),
            "cycle_l1_b": float(np.mean(l1_01(outputs["cycles_b"], b))),
            "num_test_a": float(len(a)), "num_test_b": float(len(b))}
  if info.relation == "negative":
    scores["l1_to_true_ab"] = float(np.mean(l1_01(ab, -a)))
    scores["l1_to_true_ba"] = float(np.mean(l1_01(ba, -b)))
  if info.name == "digits_negative":
    from jaxgan.metrics.digits_classifier import load_digits_classifier  # pylint: disable=g-import-not-at-top
    classifier = load_digits_classifier()
    predict = lambda x: np.argmax(classifier.logits(x), axis=-1)
    scores["class_kept_ab"] = float(np.mean(predict(-ab) == outputs["labels_a"]))
    scores["class_kept_ba"] = float(np.mean(predict(ba) == outputs["labels_b"]))
    scores["classifier_on_real_a"] = float(np.mean(predict(a) == outputs["labels_a"]))
  return scores


def _inception(outputs, info, config, metrics, split, reference_num):
  """FID/KID/IS/precision-recall in pytorch-fid's Inception space against up to reference_num
  images of the data set's `split` (its statistics cached under $JAXGAN_CACHE)."""
  del info
  from jaxgan import data as data_lib  # pylint: disable=g-import-not-at-top
  from jaxgan import visualize  # pylint: disable=g-import-not-at-top
  from jaxgan.data.pipeline import fetch_batch  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics import image_sets  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics.inception_metrics import InceptionScorer  # pylint: disable=g-import-not-at-top
  scorer = InceptionScorer(metrics, config=config, batch_size=config.eval.batch_size)
  source, real_info = data_lib.load(config.data, split)
  num = min(reference_num, len(source))
  key = (f"{config.data.name}:{split}:{config.data.path}:{real_info.shape}:"
         f"{config.data.fit}")

  def real_batches(batch_size):
    for start in range(0, num, batch_size):
      batch = fetch_batch(source, np.arange(start, min(start + batch_size, num)))
      yield visualize.to_uint8(batch[real_info.example_key])

  reference = scorer.reference(image_sets.ImageSet(key, num, real_batches))
  return scorer.score(visualize.to_uint8(outputs["samples"]), reference)


def _check_inception(config, metrics, split, reference_num):
  from jaxgan.metrics.inception_metrics import parse_metrics  # pylint: disable=g-import-not-at-top
  from jaxgan.metrics.inception_weights import resolve_weights_path  # pylint: disable=g-import-not-at-top
  parse_metrics(metrics)
  if split not in ("train", "test"):
    raise JaxganError(f"the inception evaluator's split must be 'train' or 'test', got {split!r}")
  if reference_num < 1:
    raise JaxganError(f"the inception evaluator's reference_num must be >= 1, got "
                      f"{reference_num}")
  resolve_weights_path(None, config)  # missing weights: one line naming the file, before training


def _needs_images(info):
  return None if info.kind == "images" else f"needs images, not {info.kind}"


# captioned_digits' attributes (jaxgan.data.captioned_digits.ATTRIBUTES), spelt out so this module
# imports no data code.
CAPTION_ATTRIBUTES = ("class", "colour", "background", "thickness", "slant", "size", "position",
                      "pattern")


def _captioned(outputs, info):
  """Per-attribute accuracy of the generated images on the test captions they were made from
  (jaxgan.metrics.captioned.attribute_accuracy: each attribute over the captions that name it),
  as '<attr>'; with Stage-I samples of another size beside them, also 'stage1_<attr>'."""
  del info
  from jaxgan.metrics.captioned import attribute_accuracy  # pylint: disable=g-import-not-at-top
  attributes = {a: np.asarray(outputs[f"attr_{a}"]) for a in CAPTION_ATTRIBUTES}
  mentions = {a: np.asarray(outputs[f"mention_{a}"], bool) for a in CAPTION_ATTRIBUTES}
  scores = dict(attribute_accuracy(outputs["samples"], attributes, mentions))
  low = outputs.get("samples_stage1")
  if low is not None and np.shape(low) != np.shape(outputs["samples"]):
    scores.update({f"stage1_{a}": v for a, v in
                   attribute_accuracy(low, attributes, mentions).items()})
  scores["num_captions"] = float(len(outputs["samples"]))
  return scores


def _needs_captioned_digits(info):
  if info.name != "captioned_digits":
    return f"needs captioned_digits (its attributes and reader), not {info.name!r}"
  return None


def _ppl_generate(trainer, state, num, seed, space, sampling, epsilon, distance):
  del distance
  a, b = trainer.path_pairs(state, num, 0 if seed is None else seed, space, sampling, epsilon)
  return {"path_a": a, "path_b": b}


def _ppl(outputs, info, config, space, sampling, epsilon, distance):
  del info, config, space, sampling
  from jaxgan.metrics import ppl  # pylint: disable=g-import-not-at-top
  return {"ppl": ppl.perceptual_path_length(outputs["path_a"], outputs["path_b"], epsilon,
                                            ppl.distance_fn(distance))}


def _check_ppl(config, space, sampling, epsilon, distance):
  del config
  from jaxgan.metrics import ppl  # pylint: disable=g-import-not-at-top
  if space not in ppl.SPACES or sampling not in ppl.SAMPLINGS:
    raise JaxganError(f"the ppl evaluator's space must be one of {ppl.SPACES} and sampling one "
                      f"of {ppl.SAMPLINGS}, got {space!r} and {sampling!r}")
  if not float(epsilon) > 0:
    raise JaxganError(f"the ppl evaluator's epsilon must be > 0, got {epsilon}")
  ppl.distance_fn(str(distance))  # a missing LPIPS file fails here, before training


def _ppl_trainer(trainer):
  if not trainer.has_styles:
    return "needs a style generator (StyleGAN, StyleGAN2)"
  return None


def _needs_mixture(info):
  from jaxgan.data.embedded import POINT_MIXTURES  # pylint: disable=g-import-not-at-top
  if info.name not in POINT_MIXTURES:
    return f"needs a 2-D mixture ({', '.join(POINT_MIXTURES)}), not {info.name!r}"
  return None


def _needs_digits(info):
  if info.name not in ("digits", "digits_negative") or info.kind != "images":
    return f"needs the embedded digits, not {info.name!r}"
  return None


def _any_data(info):
  del info
  return None


EVALUATORS = {
    "modes": EvaluatorType(_modes, ("samples",), _needs_mixture),
    "digits": EvaluatorType(_digits, ("samples",), _needs_digits),
    "coupling": EvaluatorType(_coupling, ("samples_a", "samples_b"), _any_data),
    "translation": EvaluatorType(_translation, ("samples", "targets"), _any_data),
    # The FCN-score of pix2pix's labels -> facades, on the embedded labels set.
    "segmentation": EvaluatorType(_segmentation, ("inputs", "samples", "targets"), _needs_labels),
    "captioned": EvaluatorType(
        _captioned, ("samples",) + tuple(f"{k}_{a}" for k in ("attr", "mention")
                                         for a in CAPTION_ATTRIBUTES), _needs_captioned_digits),
    "cycle": EvaluatorType(_cycle, ("inputs_a", "samples_ab", "cycles_a", "inputs_b",
                                    "samples_ba", "cycles_b"), _any_data),
    # pytorch-fid's Inception (jaxgan/metrics/inception.py); weights from eval.inception_weights
    # or $JAXGAN_INCEPTION_WEIGHTS (`jaxgan inception convert`), never downloaded.
    "inception": EvaluatorType(_inception, ("samples",), _needs_images,
                               options=(("metrics", "fid,kid,is,pr"), ("split", "train"),
                                        ("reference_num", 50000)),
                               check=_check_inception),
    # Perceptual path length (jaxgan.metrics.ppl): space 'z' or 'w', sampling 'full' or 'end',
    # distance 'digits', 'pixels' or an LPIPS-VGG16 weights file (.npz).
    "ppl": EvaluatorType(_ppl, (), _any_data,
                         options=(("space", "w"), ("sampling", "end"), ("epsilon", 1e-4),
                                  ("distance", "digits")),
                         check=_check_ppl, generate=_ppl_generate,
                         trainer_check=_ppl_trainer),
}


@dataclasses.dataclass(frozen=True)
class Evaluator:
  name: str
  type: str
  every: int  # steps between evaluations; 0: at the end only
  num_samples: int
  options: tuple[tuple[str, Any], ...] = ()  # the type's options, all set (name, value)

  def due(self, step: int, last_step: int) -> bool:
    return step == last_step or (self.every > 0 and step % self.every == 0)

  def prefix(self, scores: dict) -> dict:
    if self.name == self.type:
      return scores
    return {f"{self.name}/{k}": v for k, v in scores.items()}


def configured(config) -> list[Evaluator]:
  """The config's evaluators, with one-line errors for unknown types and bad values."""
  out = []
  for name, spec in (config.get("evals") or {}).items():
    kind = spec.get("type", name)
    if kind not in EVALUATORS:
      raise JaxganError(f"evals.{name}: unknown type {kind!r}; expected one of "
                        f"{sorted(EVALUATORS)}")
    own = dict(EVALUATORS[kind].options)
    unknown = set(spec.keys()) - {"type", "every", "num_samples"} - set(own)
    if unknown:
      raise JaxganError(f"evals.{name} has unknown keys {sorted(unknown)}; a {kind!r} evaluator "
                        f"takes type, every, num_samples{''.join(', ' + k for k in own)}")
    options = tuple((k, spec.get(k, default)) for k, default in own.items())
    if EVALUATORS[kind].check is not None:
      EVALUATORS[kind].check(config, **dict(options))
    every = int(spec.get("every", 0))
    num = int(spec.get("num_samples", config.eval.num_samples))
    if every < 0 or num < 1:
      raise JaxganError(f"evals.{name}: every must be >= 0 and num_samples >= 1, got "
                        f"{every} and {num}")
    out.append(Evaluator(name, kind, every, num, options))
  return out


def check_evaluators(evaluators: list[Evaluator], trainer, example_outputs: set[str]) -> None:
  """Refuses evaluators the trainer's outputs or the data set cannot serve."""
  for ev in evaluators:
    kind = EVALUATORS[ev.type]
    missing = [n for n in kind.needs if n not in example_outputs]
    if missing:
      raise JaxganError(f"evals.{ev.name} ({ev.type}) needs generated {', '.join(missing)}, "
                        f"which the {trainer.config.trainer!r} trainer does not make")
    why = kind.data(trainer.info) or (kind.trainer_check(trainer) if kind.trainer_check else None)
    if why:
      raise JaxganError(f"evals.{ev.name} ({ev.type}) {why}")


def run(evaluators: list[Evaluator], trainer, state, num_samples: int | None = None,
        truncation: float | None = None) -> dict:
  """Scores of every evaluator; one generate_outputs call per distinct sample count."""
  scores, outputs_by_num = {}, {}
  for ev in evaluators:
    num = num_samples or ev.num_samples
    kind = EVALUATORS[ev.type]
    if kind.generate is not None:
      outputs = kind.generate(trainer, state, num, EVAL_SEED, **dict(ev.options))
      result = kind.fn(outputs, trainer.info, config=trainer.config, **dict(ev.options))
      scores.update(ev.prefix({k: float(v) for k, v in result.items()}))
      continue
    if num not in outputs_by_num:
      outputs_by_num[num] = trainer.generate_outputs(state, num, EVAL_SEED, truncation)
    outputs = outputs_by_num[num]
    if any(not np.all(np.isfinite(v)) for v in outputs.values()
           if np.issubdtype(np.asarray(v).dtype, np.floating)):
      bad = np.mean([np.mean(~np.isfinite(v)) for v in outputs.values()
                     if np.issubdtype(np.asarray(v).dtype, np.floating)])
      scores.update(ev.prefix({"nonfinite_samples": float(bad)}))
      continue
    if kind.options:
      result = kind.fn(outputs, trainer.info, config=trainer.config, **dict(ev.options))
    else:
      result = kind.fn(outputs, trainer.info)
    scores.update(ev.prefix({k: float(v) for k, v in result.items()}))
  if truncation is not None:
    scores["truncation"] = float(truncation)
  return scores
