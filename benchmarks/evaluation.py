"""Evaluation: feature throughput of each extractor and the wall time of FID on 10k samples.

Extractors come from ``ganzoo.metrics.get_extractor`` ("fashion-mnist", "cifar10",
"inception"). Where a weights file is not on the machine (this one is offline), the same
architecture with random weights is timed instead and the table says so: the cost of a
forward pass does not depend on the weights' values, the FID value does (and is not reported).

The FID wall time is ``ganzoo.metrics.evaluate_generator(n=10000)`` end to end: sampling 10k
fakes, extracting features of the 10k fakes and of a 10k-image reference tensor, and the
Frechet distance itself. Where that would take too long (Inception on a CPU) it is
extrapolated from the measured feature rate and the measured FID computation, and the table
marks it.
"""
from __future__ import annotations

import time
from typing import Callable
from unittest import mock

import torch

from benchmarks.machine import synchronize, timed
from ganzoo.metrics import evaluate_generator, get_extractor
from ganzoo.metrics.extractors import FeatureExtractor
from ganzoo.nn import build_network

EXTRACTOR_IMAGES = {"fashion-mnist": (1, 28), "cifar10": (3, 32), "inception": (3, 32)}
BATCH = 250  # evaluate_generator's default extractor batch


def build_extractor(name: str, device: torch.device) -> tuple[FeatureExtractor, str]:
    """The shipped extractor, or the same architecture with random weights when the file is missing."""
    try:
        return get_extractor(name, allow_download=False, device=device), "shipped weights"
    except (FileNotFoundError, ValueError) as error:  # FeatureWeightsError is a FileNotFoundError
        reason = str(error).splitlines()[0]
    if name == "inception":
        extractor = _inception_with_random_weights()
    else:
        from ganzoo.metrics.classifier import build_classifier
        from ganzoo.metrics.extractors import ClassifierExtractor

        extractor = ClassifierExtractor(build_classifier(name), f"{name}-classifier")
    return extractor.to(device), f"random weights, same architecture ({reason})"


def _inception_with_random_weights() -> FeatureExtractor:
    """torch-fidelity's Inception-v3 network without its weights file (for timing only)."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    from ganzoo.metrics.extractors import InceptionExtractor

    # Its constructor downloads and loads the TF-ported weights; skip both, keep the random init.
    with mock.patch.object(tfi, "load_state_dict_from_url", lambda *args, **kwargs: None), \
            mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *args, **kwargs: None):
        backbone = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    return InceptionExtractor(backbone)


def _random_images(count: int, channels: int, side: int, device: torch.device) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return (torch.rand(count, channels, side, side, generator=generator) * 2 - 1).to(device)


def features_per_second(extractor: FeatureExtractor, images: torch.Tensor, device: torch.device) -> float:
    """Images per second through the extractor, in evaluate_generator's batch size."""
    extractor(images[:BATCH])  # warm-up
    seconds = timed(lambda: [extractor(batch) for batch in images.split(BATCH)], device)
    return len(images) / seconds


def fid_compute_seconds(dim: int, count: int, device: torch.device) -> float:
    """The Frechet distance from ``count`` real and fake features of dimension ``dim`` (update + compute)."""
    from torchmetrics.image import FrechetInceptionDistance

    from ganzoo.metrics.suite import PassThrough

    fid = FrechetInceptionDistance(feature=PassThrough(dim), reset_real_features=False).to(device)
    real, fake = torch.randn(count, dim, device=device), torch.randn(count, dim, device=device) + 0.1

    def run() -> None:
        for batch in real.split(BATCH):
            fid.update(batch.double(), real=True)
        for batch in fake.split(BATCH):
            fid.update(batch.double(), real=False)
        fid.compute()

    return timed(run, device)


def measure_extractor(name: str, device: torch.device, fid_count: int, measure_count: int,
                      log: Callable[[str], None] = print) -> dict:
    extractor, weights = build_extractor(name, device)
    channels, side = EXTRACTOR_IMAGES[name]
    rate = features_per_second(extractor, _random_images(measure_count, channels, side, device), device)
    result = {"extractor": name, "weights": weights, "feature_dim": extractor.num_features,
              "image_shape": [channels, side, side], "measured_images": measure_count,
              "features_per_second": rate, "fid_count": fid_count}
    if measure_count >= fid_count:
        result.update(fid_wall_seconds=_fid_end_to_end(extractor, channels, side, device, fid_count),
                      fid_wall_extrapolated=False)
    else:
        compute = fid_compute_seconds(extractor.num_features, fid_count, device)
        result.update(fid_wall_seconds=2 * fid_count / rate + compute, fid_compute_seconds=compute,
                      fid_wall_extrapolated=True)
    log(f"  {name}: {rate:.0f} features/s ({weights.split(' (')[0]}); FID on {fid_count} samples "
        f"{'~' if result['fid_wall_extrapolated'] else ''}{result['fid_wall_seconds']:.1f} s")
    return result


def _fid_end_to_end(extractor: FeatureExtractor, channels: int, side: int, device: torch.device, count: int) -> float:
    """evaluate_generator(n=count) with a count-image reference tensor, timed from call to result."""
    torch.manual_seed(0)
    generator = build_network("DCGANGenerator", latent_dim=100, resolution=side, channels=channels).to(device)
    reference = _random_images(count, channels, side, torch.device("cpu"))
    synchronize(device)
    start = time.perf_counter()
    evaluate_generator(generator, metrics=("fid",), n=count, seed=0, reference=reference, extractor=extractor,
                       batch_size=BATCH, device=device)
    synchronize(device)
    return time.perf_counter() - start


def measure_evaluation(device: torch.device, fid_count: int, counts: dict[str, int],
                       log: Callable[[str], None] = print) -> list[dict]:
    """One row per extractor; ``counts`` says how many images to push through each."""
    return [measure_extractor(name, device, fid_count, counts[name], log) for name in EXTRACTOR_IMAGES]
