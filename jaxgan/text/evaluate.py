"""The text encoder's acceptance check: linear probes per attribute and caption->image retrieval.

  python -m jaxgan.text.evaluate [--encoder gru|multihot] [--probe-train 6000] [--json FILE]

Probe: for each attribute, scikit-learn's LogisticRegression fitted on the stored (rescaled)
embeddings of 'train' captions that mention the attribute (a seeded sample of --probe-train of
them) and scored on every 'test' caption that mentions it. The encoder is accepted when every
attribute reads at >= ACCEPT (0.99).

Retrieval (gru only, it has an image side): every 'test' caption ranks all 'test' images by the
cosine similarity of its embedding to theirs; R@k is the fraction of captions whose own image is
among the first k. Many captions leave attributes out, so several images fit one caption and
R@1 has a ceiling well below 1: `oracle_retrieval` computes it from the attributes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from jaxgan.data import captioned_digits as cd
from jaxgan.text import encoder as text_encoder

ACCEPT = 0.99


def probe_accuracies(encoder: str = "gru_cca", probe_train: int = 6000, seed: int = 0,
                     recipe=text_encoder.DEFAULT_RECIPE) -> dict[str, float]:
  """attribute -> test accuracy of a linear probe on the embeddings of captions naming it."""
  from sklearn.linear_model import LogisticRegression  # pylint: disable=g-import-not-at-top

  result = {}
  splits = {}
  for split in ("train", "test"):
    data = cd.captioned_digits(split)
    splits[split] = (data, text_encoder.caption_embeddings(split, encoder, recipe))
  rng = np.random.default_rng(seed)
  for attr in cd.ATTRIBUTES:
    arrays = []
    for split in ("train", "test"):
      data, embeddings = splits[split]
      image, caption = np.nonzero(data["mentions"][attr])
      if split == "train" and len(image) > probe_train:
        keep = np.sort(rng.choice(len(image), probe_train, replace=False))
        image, caption = image[keep], caption[keep]
      arrays.append((embeddings[image, caption], data["attributes"][attr][image]))
    (x_train, y_train), (x_test, y_test) = arrays
    probe = LogisticRegression(max_iter=1000, C=1.0)
    probe.fit(x_train, y_train)
    result[attr] = float(probe.score(x_test, y_test))
  return result


def retrieval(recipe=text_encoder.DEFAULT_RECIPE, ks=(1, 5)) -> dict[str, float]:
  """{'R@k': ...} caption->image over the test split, cosine similarity in the joint space."""
  model = text_encoder.load_text_encoder(recipe)
  data = cd.captioned_digits("test")
  images = model.embed_images(data["images"])
  captions = model.embed([t for row in data["captions"] for t in row])
  images /= np.linalg.norm(images, axis=1, keepdims=True)
  captions /= np.linalg.norm(captions, axis=1, keepdims=True)
  own = np.repeat(np.arange(len(images)), cd.CAPTIONS_PER_IMAGE)
  scores = captions @ images.T
  rank = (scores > scores[np.arange(len(own)), own][:, None]).sum(axis=1)  # 0 = first
  return {f"R@{k}": float(np.mean(rank < k)) for k in ks}


def oracle_retrieval(ks=(1, 5)) -> dict[str, float]:
  """The best expected R@k any encoder can reach: a caption fits every test image that has all
  the attribute values it mentions; with the fitting images in random order, its own image is
  among the first k with probability min(1, k / number fitting)."""
  data = cd.captioned_digits("test")
  attrs, mentions = data["attributes"], data["mentions"]
  num = len(data["images"])
  fitting = []
  for i in range(num):
    same = {a: attrs[a] == attrs[a][i] for a in cd.ATTRIBUTES}  # (num,) per attribute
    for j in range(cd.CAPTIONS_PER_IMAGE):
      fit = np.ones(num, bool)
      for a in cd.ATTRIBUTES:
        if mentions[a][i, j]:
          fit &= same[a]
      fitting.append(fit.sum())
  fitting = np.array(fitting, np.float64)
  return {f"R@{k}": float(np.mean(np.minimum(1.0, k / fitting))) for k in ks}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--encoder", default="gru_cca", choices=text_encoder.ENCODERS)
  parser.add_argument("--probe-train", type=int, default=6000)
  parser.add_argument("--json", default="")
  args = parser.parse_args(argv)
  start = time.perf_counter()
  report = {"encoder": args.encoder}
  if args.encoder in ("gru", "gru_cca"):
    model = text_encoder.load_text_encoder()
    report["train_seconds"] = model.train_seconds
    report["retrieval"] = retrieval()
    report["retrieval_oracle"] = oracle_retrieval()
  report["probe"] = probe_accuracies(args.encoder, args.probe_train)
  report["accepted"] = min(report["probe"].values()) >= ACCEPT
  report["seconds"] = time.perf_counter() - start
  print(json.dumps(report, indent=1))
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump(report, f, indent=1)
  return 0 if report["accepted"] else 1


if __name__ == "__main__":
  sys.exit(main())
