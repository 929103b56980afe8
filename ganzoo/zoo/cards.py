"""Model cards rendered from measured results (never hand-typed numbers).

The card is a Hugging Face model card: YAML metadata (library_name, tags, datasets,
metrics in model-index form, built with ``huggingface_hub.ModelCardData``) followed by
markdown: architecture, recipe and length, data set, metrics *with protocol*, the
paper's numbers beside them, a sample grid, intended use and limitations.
"""
from __future__ import annotations

from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

JPEG_CIFAR_WARNING = (
    "**Data caveat:** trained on a public JPEG (quality 75) re-encoding of CIFAR-10, not the original "
    "pixels. Its FID/IS are not comparable with published CIFAR-10 numbers."
)


def render_model_card(info: dict[str, Any]) -> str:
    """Render a card from ``info``: name, variant, dataset, dataset_id, description,
    generator/discriminator configs and parameter counts, training, metrics, paper,
    sample_grid, license, limitations, and optionally attempts (markdown: the recipe changes
    tried on the way, a section of its own after the training curve)."""
    metadata = ModelCardData(
        library_name="ganzoo",
        license=info.get("license", "apache-2.0").lower(),
        tags=["gan", "unconditional-image-generation", "pytorch-lightning", "ganzoo", info["variant"]],
        datasets=[info["dataset_id"]] if info.get("dataset_id") else None,
        model_name=info["name"],
        eval_results=[_eval_result(info, metric) for metric in info.get("metrics", [])] or None,
    )
    return str(ModelCard.from_template(metadata, template_str=_TEMPLATE, **_body_fields(info)))


def _eval_result(info: dict[str, Any], metric: dict[str, Any]) -> EvalResult:
    protocol = metric.get("protocol", {})
    return EvalResult(
        task_type="unconditional-image-generation",
        dataset_type=info.get("dataset_id") or info["dataset"],
        dataset_name=info["dataset"],
        dataset_split=protocol.get("reference_split"),
        metric_type=metric["name"],
        metric_value=float(metric["value"]),
        metric_name=f"{metric['name'].upper()} ({protocol.get('features', 'unknown features')})",
    )


def _body_fields(info: dict[str, Any]) -> dict[str, str]:
    training = info.get("training", {})
    return {
        "title": info["name"],
        "description": info.get("description", ""),
        "caveat": JPEG_CIFAR_WARNING if "jpeg" in info.get("dataset", "").lower() else "",
        "architecture": _architecture(info),
        "training": "\n".join(f"- **{k.replace('_', ' ')}:** {v}" for k, v in training.items()) or "- not recorded",
        "metrics": _metrics_table(info.get("metrics", [])),
        "paper": _paper_table(info.get("paper", [])),
        "samples": (f"![samples]({info['sample_grid']})" if info.get("sample_grid") else "(no sample grid recorded)")
        + (f"\n\nOne grid per stage of progressive growing (fixed latents; each stage at its own resolution):\n\n"
           f"![grids per stage]({info['stage_grids']})" if info.get("stage_grids") else ""),
        "curve": _training_curve(info),
        "usage": _usage(info["name"]),
        "limitations": info.get("limitations", _DEFAULT_LIMITATIONS),
        "attempts": info.get("attempts", ""),
    }


def _training_curve(info: dict[str, Any]) -> str:
    curve = info.get("training_curve")
    if not curve:
        return "Not recorded for this run (it predates the evaluation callback)."
    return (f"![training curve]({curve})\n\n{info.get('training_curve_note', '')}").strip()


def _architecture(info: dict[str, Any]) -> str:
    lines = []
    for role in ("generator", "discriminator"):
        spec = info.get(role)
        if spec:
            params = info.get(f"num_params_{role}")
            count = f", {params:,} parameters" if params else ""
            lines.append(f"- **{role}:** `{spec['name']}({_kwargs(spec.get('kwargs', {}))})`{count}")
    return "\n".join(lines) or "- not recorded"


def _kwargs(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _metrics_table(metrics: list[dict[str, Any]]) -> str:
    if not metrics:
        return "No metrics measured yet."
    rows = ["| metric | value | features | reference | fakes | seed |", "| --- | --- | --- | --- | --- | --- |"]
    for metric in metrics:
        p = metric.get("protocol", {})
        reference = f"{p.get('reference_dataset', '?')} {p.get('reference_split', '?')} ({p.get('reference_count', '?')})"
        if p.get("reference_variant") == "jpeg":  # never let it pass for the original CIFAR-10 pixels
            reference += ", JPEG re-encoding"
        value = f"{metric['value']:.3f}" + (f" +- {metric['std']:.3f}" if metric.get("std") is not None else "")
        rows.append(
            f"| {metric['name'].upper()} | {value} | {p.get('features', '?')} | {reference} "
            f"| {p.get('num_fakes', '?')} | {p.get('seed', '?')} |"
        )
    inception = [m["protocol"] for m in metrics if str(m.get("protocol", {}).get("features", "")).startswith("Inception")]
    if inception:
        p = inception[0]
        rows += ["", f"The Inception rows use the field's network but {p.get('num_fakes')} fakes against "
                     f"{p.get('reference_count')} reference images, fewer than papers' 50k: FID is biased upwards "
                     "at small counts, so compare them only with numbers measured under the same counts (the "
                     "calibration in docs/metrics.md), never with published FIDs."]
    return "\n".join(rows)


def _paper_table(paper: list[dict[str, Any]]) -> str:
    if not paper:
        return "No published number for this exact setting."
    rows = ["| source | data | metric | value | note |", "| --- | --- | --- | --- | --- |"]
    for item in paper:
        rows.append(
            f"| {item.get('source', '?')} | {item.get('dataset', '?')} | {item.get('metric', '?')} "
            f"| {item.get('value', '?')} | {item.get('note', '')} |"
        )
    return "\n".join(rows)


def _usage(name: str) -> str:
    return (
        "```python\nimport ganzoo\n"
        f'G = ganzoo.load("{name}")          # EMA generator, eval mode\n'
        "images = G.sample(64, seed=0)        # in [-1, 1]\n```\n"
        f"or `ganzoo sample {name} -n 64 -o samples.png`."
    )


_DEFAULT_LIMITATIONS = (
    "A research checkpoint trained for a short, stated budget: samples show the data set's modes but "
    "are not photo-realistic, and the numbers above hold only under the stated protocol. Not for "
    "generating data that stands in for real measurements."
)

_TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

{{ description }}

{{ caveat }}

## Samples

{{ samples }}

## Use

{{ usage }}

## Architecture

{{ architecture }}

## Training

{{ training }}

### Training curve

{{ curve }}
{% if attempts %}
### Changes tried on the way

{{ attempts }}
{% endif %}
## Metrics (measured, with protocol)

{{ metrics }}

## Paper numbers, for comparison

{{ paper }}

## Intended use and limitations

{{ limitations }}
"""
