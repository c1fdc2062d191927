"""Sample-quality measures: mode coverage on point mixtures; FD, KID, IS and precision/recall on
any features; the digits classifier and the digits metrics built on it; pytorch-fid's Inception
network (inception, inception_weights) and the image-set scorer on it (inception_metrics)."""

from jaxgan.metrics.digits import digits_metrics, real_digits_reference
from jaxgan.metrics.digits_classifier import (
    ClassifierRecipe,
    DigitsClassifier,
    load_digits_classifier,
    train_digits_classifier,
)
from jaxgan.metrics.fidelity import (
    feature_moments,
    frechet_distance,
    frechet_distance_from_moments,
    inception_score,
    kernel_distance,
    precision_recall,
)
from jaxgan.metrics.points import mode_metrics

__all__ = [
    "ClassifierRecipe",
    "DigitsClassifier",
    "digits_metrics",
    "feature_moments",
    "frechet_distance",
    "frechet_distance_from_moments",
    "inception_score",
    "kernel_distance",
    "load_digits_classifier",
    "mode_metrics",
    "precision_recall",
    "real_digits_reference",
    "train_digits_classifier",
]
