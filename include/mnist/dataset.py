"""MNIST held in memory as three named splits, and the rules that make the standard split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from include.mnist.errors import DataFormatError

PixelType = Literal["float32", "uint8"]
PIXEL_TYPES: tuple[PixelType, ...] = ("float32", "uint8")
SPLIT_NAMES = ("train", "validation", "test")
NUM_FEATURES = 28 * 28

# The classic split of the canonical files (the layout of mnist.pkl.gz): the last sixth of the
# 60,000 training images is held out for validation, the 10,000 test images stay the test set.
VALIDATION_FRACTION_OF_TRAIN = 1 / 6
# The 5,000-digit sample has no test file: a stratified 80/10/10 split with a fixed seed.
SAMPLE_HELDOUT_FRACTION = 0.1
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """Images ``(n, 784)`` (uint8 0–255 or float32 in [0, 1]) with their int64 labels ``(n,)``."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 2 or self.images.shape[1] != NUM_FEATURES:
            raise DataFormatError(f"images have shape {self.images.shape}, expected (n, {NUM_FEATURES})")
        if self.labels.shape != (len(self.images),):
            raise DataFormatError(
                f"{len(self.images)} images but {len(self.labels)} labels: image and label counts must match"
            )

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class MnistDataset:
    """The train / validation / test splits of one source, with how they were made."""

    source: str
    train: Split
    validation: Split
    test: Split
    split_rule: str

    @property
    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(split) for name, split in self.splits.items()}

    @property
    def pixel_type(self) -> str:
        return str(self.train.images.dtype)


def convert_pixels(images: np.ndarray, pixels: PixelType) -> np.ndarray:
    """uint8 0–255 ↔ float32 in [0, 1] (value / 255); float → uint8 rounds to the nearest level."""
    if pixels not in PIXEL_TYPES:
        raise ValueError(f"pixels={pixels!r} is not one of {PIXEL_TYPES}")
    if pixels == "float32":
        if images.dtype == np.uint8:
            return images.astype(np.float32) / np.float32(255)
        return images.astype(np.float32, copy=False)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images * 255), 0, 255).astype(np.uint8)


def _split(images: np.ndarray, labels: np.ndarray, pixels: PixelType) -> Split:
    return Split(convert_pixels(images, pixels), np.asarray(labels, dtype=np.int64))


def from_train_test(
    source: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    pixels: PixelType,
) -> MnistDataset:
    """The classic split of a train file and a test file: validation is the tail of the train file."""
    train_images, train_labels = train
    n_validation = round(len(train_labels) * VALIDATION_FRACTION_OF_TRAIN)
    n_train = len(train_labels) - n_validation
    return MnistDataset(
        source=source,
        train=_split(train_images[:n_train], train_labels[:n_train], pixels),
        validation=_split(train_images[n_train:], train_labels[n_train:], pixels),
        test=_split(*test, pixels),
        split_rule=f"train file's first {n_train} / its last {n_validation} / the test file",
    )


def from_single_pool(source: str, images: np.ndarray, labels: np.ndarray, pixels: PixelType) -> MnistDataset:
    """A stratified, seeded 80/10/10 split of one pool of labelled images."""
    from sklearn.model_selection import train_test_split  # only when splitting, not at DAG parse

    n_heldout = 2 * round(len(labels) * SAMPLE_HELDOUT_FRACTION)
    train_images, rest_images, train_labels, rest_labels = train_test_split(
        images, labels, test_size=n_heldout, stratify=labels, random_state=SPLIT_SEED
    )
    valid_images, test_images, valid_labels, test_labels = train_test_split(
        rest_images, rest_labels, test_size=0.5, stratify=rest_labels, random_state=SPLIT_SEED
    )
    return MnistDataset(
        source=source,
        train=_split(train_images, train_labels, pixels),
        validation=_split(valid_images, valid_labels, pixels),
        test=_split(test_images, test_labels, pixels),
        split_rule=f"stratified 80/10/10 of {len(labels)} images, seed {SPLIT_SEED}",
    )


def from_three_splits(
    source: str, splits: dict[str, tuple[np.ndarray, np.ndarray]], pixels: PixelType
) -> MnistDataset:
    """A dataset whose source already defines train / validation / test (``mnist.pkl.gz``)."""
    return MnistDataset(
        source=source,
        **{name: _split(*splits[name], pixels) for name in SPLIT_NAMES},
        split_rule="as published in the source",
    )
