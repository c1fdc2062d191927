"""Data sets by config name: the embedded ones, tfds data sets and folders of images.

Every data set is a builder in the registry (jaxgan.data.registry), each in its own module;
importing them here registers them.
"""

from __future__ import annotations

from jaxgan.data import (captioned_digits, converted, digits, digits_negative,  # noqa: F401
                         folder, labels, mixtures, photos, prepared, stackgan_files, tfds_source,
                         tfds_two_domains, two_domain_folders)
from jaxgan.data.base import DataInfo
from jaxgan.data.digits import resize_images
from jaxgan.data.pipeline import train_iterator
from jaxgan.data.registry import load

__all__ = ["DataInfo", "load", "train_iterator", "resize_images"]
