"""Metrics with their protocol: FID, KID, IS, improved precision/recall, 2-D mode metrics.

    from ganzoo.metrics import evaluate_generator
    results = evaluate_generator(G, metrics=("fid", "kid", "pr"), features="fashion-mnist", n=10000, seed=0)
    for r in results:
        print(r)                      # value and the protocol it was measured under
        r.to_dict()                   # JSON-ready

Submodules: ``extractors`` (Inception via torch-fidelity, in-domain classifiers), ``suite``
(torchmetrics FID/KID/IS + precision/recall over one extractor), ``reference`` (cached
reference features), ``evaluate`` (generators and image tensors), ``modes`` (2-D mixtures),
``callback`` (Lightning), ``cli`` (``ganzoo eval`` / ``ganzoo bench``). See docs/metrics.md.

Names are imported lazily so that ``import ganzoo.metrics.cli`` (the command line) does not
pay for torchmetrics until a command runs.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "evaluate_generator": "evaluate", "evaluate_images": "evaluate", "chunk_plan": "evaluate",
    "MetricSuite": "suite", "METRICS": "suite",
    "MetricResult": "protocol", "Protocol": "protocol", "Reference": "protocol",
    "get_extractor": "extractors", "load_classifier": "extractors", "FeatureExtractor": "extractors",
    "ClassifierExtractor": "extractors", "InceptionExtractor": "extractors", "FeatureWeightsError": "extractors",
    "improved_precision_recall": "precision_recall", "PrecisionRecall": "precision_recall",
    "mode_metrics": "modes", "EvaluationCallback": "callback",
    "reference_features": "reference",
    "add_eval_arguments": "cli", "run_eval": "cli", "add_bench_arguments": "cli", "run_bench": "cli",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"ganzoo.metrics.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'ganzoo.metrics' has no attribute {name!r}")
