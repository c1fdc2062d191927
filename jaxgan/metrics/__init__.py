"""Sample-quality measures: mode coverage on point mixtures; FD, KID and IS on any features; the
digits classifier and the digits metrics built on it."""

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
    "real_digits_reference",
    "train_digits_classifier",
]
