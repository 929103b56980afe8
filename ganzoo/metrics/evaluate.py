"""Evaluate a generator (or a tensor of images) against a reference under a stated protocol.

How fakes are drawn from ``seed`` (``sampling`` in the protocol): the ``n`` fakes are cut into
chunks of ``sample_chunk`` images; chunk ``i`` is ``generator.sample(size_i, seed=s_i)`` where
``s_0, s_1, ...`` are drawn from ``torch.Generator().manual_seed(seed)``. Chunks are the unit
of work split across processes (contiguous blocks of chunks in rank order), so the set of
fakes, and every metric, is the same on 1 or N processes; the training callback draws its
fakes the same way through ``pl_module.sample``.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional, Sequence

import torch
from torch import Tensor

from ganzoo.metrics.extractors import FeatureExtractor, get_extractor
from ganzoo.metrics.progress import track
from ganzoo.metrics.protocol import DEFAULT_SAMPLE_CHUNK, MetricResult, Protocol, Reference
from ganzoo.metrics.reference import describe_reference, reference_features, shard
from ganzoo.metrics.suite import RESULT_NAMES, MetricSuite, world

# The reference each in-domain extractor is meant for. Inception has none: say which data.
DEFAULT_REFERENCE = {"fashion-mnist": Reference("fashion-mnist", "train"), "cifar10": Reference("cifar10", "train")}


def chunk_plan(n: int, seed: int, sample_chunk: int = DEFAULT_SAMPLE_CHUNK) -> list[tuple[int, int]]:
    """[(size, seed)] for the chunks of ``n`` fakes: the same list on every process."""
    if n < 1:
        raise ValueError(f"number of fakes must be >= 1, got {n}")
    if sample_chunk < 1:
        raise ValueError(f"sample_chunk must be >= 1, got {sample_chunk}")
    sizes = [min(sample_chunk, n - start) for start in range(0, n, sample_chunk)]
    seeds = torch.randint(0, 2**62, (len(sizes),), generator=torch.Generator().manual_seed(int(seed)))
    return list(zip(sizes, (int(s) for s in seeds)))


def my_chunks(plan: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """This process's contiguous block of the chunk plan."""
    rank, size = world()
    if len(plan) < size:
        raise ValueError(f"{len(plan)} sample chunks cannot be split over {size} processes: lower sample_chunk "
                         "or raise n so there is at least one chunk per process")
    bounds = [len(plan) * r // size for r in range(size + 1)]
    return plan[bounds[rank]:bounds[rank + 1]]


def sampling_description(sample_chunk: int) -> str:
    return (f"chunks of {sample_chunk}; chunk i = G.sample(size, seed=s_i), "
            "s = torch.randint(0, 2**62, (chunks,), generator=torch.Generator().manual_seed(seed))")


def resolve_reference(reference: Reference | str | Tensor | None, features: str) -> Reference | Tensor:
    """A ``Reference`` (parsed from "DATASET[:SPLIT[:COUNT]]"), or a tensor of real images as is."""
    if isinstance(reference, (Reference, Tensor)):
        return reference
    if isinstance(reference, str):
        return Reference.parse(reference)
    if features in DEFAULT_REFERENCE:
        return DEFAULT_REFERENCE[features]
    raise ValueError(f"with {features!r} features, say which real images to compare with: "
                     "reference='DATASET[:SPLIT[:COUNT]]', e.g. 'cifar10:train:50000'")


def make_suite_with_reference(extractor: FeatureExtractor, metrics: Sequence[str], reference: Reference | Tensor, *,
                              data_dir=None, cache_dir=None, use_cache: bool = True, batch_size: int = 500,
                              device=None, **suite_options) -> tuple[MetricSuite, dict]:
    """A ``MetricSuite`` holding this process's shard of the reference features, and the
    reference part of the protocol. ``reference`` is a data set (features cached on disk) or
    a tensor of real images in [-1, 1] (e.g. your own image folder; every process passes all
    of it, each extracts its shard)."""
    suite = MetricSuite(extractor, metrics, device=device, **suite_options)
    if isinstance(reference, Tensor):
        for batch in shard(reference).split(batch_size):
            suite.update_real(batch)
        return suite, dict(reference_dataset="images", reference_split=None, reference_count=len(reference),
                           reference_variant="caller-provided")
    if all(m == "is" for m in suite.metrics):  # IS compares with nothing: load no data
        return suite, dict(reference_dataset="none (IS needs no reference)", reference_split=None,
                           reference_count=0, reference_variant="original")
    features, metadata = reference_features(reference, extractor, data_dir=data_dir, cache_dir=cache_dir,
                                            use_cache=use_cache, batch_size=batch_size, device=device)
    suite.update_real_features(shard(features))
    return suite, describe_reference(reference, metadata)


def results_from_suite(suite: MetricSuite, protocol_fields: dict) -> list[MetricResult]:
    values = suite.compute()
    n_real, n_fake = suite.last_counts
    protocol = Protocol(
        features=suite.extractor.name, feature_dim=suite.extractor.num_features,
        features_sha256=suite.extractor.weights_sha256, resize=suite.extractor.resize,
        channels=suite.extractor.channels, quantize="uint8" if suite.extractor.quantize else "none",
        num_fakes=n_fake, options=suite.options(), **protocol_fields,
    )
    results = []
    for metric in suite.metrics:
        for name in RESULT_NAMES[metric]:
            value, spread = values[name]
            results.append(MetricResult(name, value, protocol, spread))
    return results


@torch.no_grad()
def evaluate_generator(generator, metrics: Sequence[str] | str = ("fid",), features: str = "fashion-mnist",
                       n: int = 10000, seed: int = 0, reference: Reference | str | Tensor | None = None,
                       batch_size: int = 250, device=None, *, resize: str = "none",
                       sample_chunk: int = DEFAULT_SAMPLE_CHUNK, data_dir=None, cache_dir=None,
                       use_cache: bool = True, feature_weights=None, inception_weights=None,
                       extractor: Optional[FeatureExtractor] = None, **suite_options) -> list[MetricResult]:
    """Score ``generator`` (a ``ganzoo.nn.base.Generator``: ``.sample(n, seed=...)`` in [-1, 1]).

    Args:
        metrics: any of "fid", "kid", "is", "pr" (list or comma-separated string).
        features: "fashion-mnist", "cifar10" (in-domain classifiers) or "inception".
        n: number of fakes. seed: seed of the fakes (see the module docstring).
        reference: ``Reference``, "DATASET[:SPLIT[:COUNT]]", or a tensor of real images in
            [-1, 1]; default: the in-domain extractor's training split (required for Inception).
        batch_size: images per extractor forward pass (memory only; does not change results).
        device: where the generator and the extractor run (default: the generator's device).
        resize: "none" | "bilinear" | "bilinear-antialias" for in-domain extractors.
        sample_chunk: fakes per seeded chunk (part of the protocol).
        data_dir, cache_dir, use_cache: where the reference data is / where features are cached.
        feature_weights: a user-trained classifier file instead of the shipped one.
        inception_weights: a local Inception weights file.
        extractor: a ready ``FeatureExtractor`` (overrides ``features``; used by tests).
        suite_options: ``kid_subsets``, ``kid_subset_size``, ``is_splits``, ``pr_k``.
    Returns:
        one ``MetricResult`` per number (precision and recall are two), each with its protocol.
    """
    device = torch.device(device) if device is not None else _generator_device(generator)
    generator = generator.to(device)
    was_training = generator.training
    generator.eval()
    if extractor is None:
        extractor = get_extractor(features, resize=resize, weights_path=feature_weights,
                                  inception_weights=inception_weights, device=device)
    # One probe image first: a generator the extractor cannot take (channels, size) fails now,
    # not after minutes of reference features.
    extractor(generator.sample(1, seed=seed).to(device))
    reference = resolve_reference(reference, features)
    suite, reference_info = make_suite_with_reference(extractor, metrics, reference, data_dir=data_dir,
                                                      cache_dir=cache_dir, use_cache=use_cache,
                                                      batch_size=batch_size, device=device, seed=seed, **suite_options)
    try:
        feed_fakes(suite, lambda size, chunk_seed: generator.sample(size, seed=chunk_seed), n, seed, sample_chunk,
                   batch_size)
    finally:
        generator.train(was_training)
    return results_from_suite(suite, dict(seed=seed, sampling=sampling_description(sample_chunk), **reference_info))


def feed_fakes(suite: MetricSuite, sample: Callable[[int, int], Tensor], n: int, seed: int, sample_chunk: int,
               batch_size: int) -> None:
    """Draw this process's chunks with ``sample(size, seed)`` and stream them into ``suite``."""
    chunks = my_chunks(chunk_plan(n, seed, sample_chunk))
    for size, chunk_seed in track(chunks, f"sampling and scoring {n:,} fakes", len(chunks)):
        images = sample(size, chunk_seed)
        if images.shape[0] != size:
            raise ValueError(f"sample({size}, seed) returned {images.shape[0]} images")
        for batch in images.split(batch_size):
            suite.update_fake(batch)


@torch.no_grad()
def evaluate_images(fake_images: Tensor | Iterable[Tensor], metrics: Sequence[str] | str = ("fid",),
                    features: str = "fashion-mnist", *, reference: Reference | str | None = None,
                    real_images: Optional[Tensor] = None, extractor: Optional[FeatureExtractor] = None,
                    resize: str = "none", batch_size: int = 500, device=None, seed: Optional[int] = None,
                    data_dir=None, cache_dir=None, use_cache: bool = True, feature_weights=None,
                    inception_weights=None, description: str = "", **suite_options) -> list[MetricResult]:
    """Score a set of images (float, [-1, 1]) against a reference data set or ``real_images``.

    ``fake_images`` is a tensor or an iterable of batches; under DDP each process passes its
    own share. ``real_images`` (float, [-1, 1]), when given, replaces ``reference`` and is
    taken whole by each process and sharded here. ``description`` goes into the protocol's
    ``sampling`` field (e.g. "Fashion-MNIST test + gaussian noise sigma=0.1").
    """
    device = torch.device(device) if device is not None else None  # None: the extractor's device
    if extractor is None:
        extractor = get_extractor(features, resize=resize, weights_path=feature_weights,
                                  inception_weights=inception_weights, device=device)
    metric_seed = 0 if seed is None else seed
    if real_images is not None:
        reference = real_images
    suite, reference_info = make_suite_with_reference(
        extractor, metrics, resolve_reference(reference, features), data_dir=data_dir, cache_dir=cache_dir,
        use_cache=use_cache, batch_size=batch_size, device=device, seed=metric_seed, **suite_options)
    batches = fake_images.split(batch_size) if isinstance(fake_images, Tensor) else fake_images
    for batch in batches:
        suite.update_fake(batch)
    return results_from_suite(suite, dict(seed=seed, sampling=description or "caller-provided images", **reference_info))


def _generator_device(generator) -> torch.device:
    for tensor in list(generator.parameters()) + list(generator.buffers()):
        return tensor.device
    return torch.device("cpu")
