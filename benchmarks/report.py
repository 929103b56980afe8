"""Results as JSON (one file per machine) and as the markdown tables of ``benchmarks/RESULTS.md``."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).with_name("results")
RESULTS_MD = Path(__file__).with_name("RESULTS.md")
OVERHEAD_LIMIT = 1.05

HEADER = """# ganzoo performance results

Measured by the harness in this folder. What each section measures:

1. **Training step overhead.** ganzoo's LightningModule trained by a real `lightning.Trainer`
   (no logger, progress bar, checkpointing or model summary; `log_every_n_steps` at its default 50,
   so the loop's own logging runs) against a minimal hand-written PyTorch loop doing the same work: same
   networks and initial weights, same in-memory data and DataLoader, same per-step seeded latents,
   same `ganzoo.losses`, same `ganzoo.regularizers.gradient_penalty`, same optimizers, same EMA
   update, D frozen during the G step. Both end with bit-identical weights
   (`tests/test_performance_paths.py`). Runs alternate ganzoo / hand-written (ABBA) in one process;
   each pair gives one ratio of seconds per generator iteration (ganzoo / hand-written; acceptance:
   median <= 1.05). Images/s = real images the discriminator sees per second (n_critic x batch per
   generator iteration).
2. **Sampling.** `ganzoo.load(folder).sample(n)` against a raw `G(z)` loop at the same batch size.
3. **Evaluation.** Feature-extractor throughput and wall time of FID on 10k samples
   (`ganzoo.metrics.evaluate_generator`, 10k fakes against a 10k-image reference).
4. **Hardware use.** Model FLOPs per generator iteration (`torch.utils.flop_counter`, matmuls and
   convolutions, forward + backward + the penalty's double backward) x iterations/s, as a fraction of
   the measured peak of a large 3x3 convolution and a large matmul in the same dtype.

Each machine's section below is generated from `benchmarks/results/<machine>.json` by
`python -m benchmarks`; the command that produced it is printed in the section.
"""


def write_results(results: dict, out_dir: Path, slug: str) -> Path:
    """Merge this run's sections into ``<slug>.json`` (other sections of an earlier run are kept)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{slug}.json"
    merged = json.loads(path.read_text()) if path.is_file() else {"sections": {}, "commands": {}}
    merged["machine"] = results["machine"]
    merged["mode"] = results["mode"]
    for name, section in results["sections"].items():
        merged["sections"][name] = section
        merged["commands"][name] = results["command"]
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    (out_dir / f"{slug}.md").write_text(render_machine(merged))
    return path


def regenerate_results_md(out_dir: Path = RESULTS_DIR, target: Path = RESULTS_MD) -> Path:
    sections = [render_machine(json.loads(path.read_text())) for path in sorted(out_dir.glob("*.json"))]
    target.write_text(HEADER + "\n" + "\n".join(sections))
    return target


# ---------------------------------------------------------------------------------- rendering


def render_machine(results: dict) -> str:
    machine = results["machine"]
    title = machine.get("gpu") or f"CPU: {machine['cpu']} ({machine['cpu_cores']} cores)"
    lines = [f"## {title}", "", _machine_line(machine), ""]
    commands = sorted(set(results.get("commands", {}).values()))
    lines += ["Reproduce with:", "", "```", *commands, "```", ""]
    renderers = {"training": _training, "fast-path": _fast_path, "sampling": _sampling,
                 "evaluation": _evaluation, "hardware": _hardware}
    for name, render in renderers.items():
        if name in results["sections"]:
            lines += render(results["sections"][name]) + [""]
    return "\n".join(lines)


def _machine_line(m: dict) -> str:
    parts = [f"Measured {m['date']}", f"{m['cpu']} ({m['cpu_cores']} cores, {m['torch_threads']} torch threads, "
             f"{m['cpu_capability']})"]
    if m.get("gpu"):
        parts.append(f"{m['gpu']} ({m['gpu_memory_gib']} GiB, CUDA {m['cuda']}, cuDNN {m['cudnn']})")
    parts.append(f"torch {m['torch']}, lightning {m['lightning']}, torchmetrics {m['torchmetrics']}, "
                 f"torch-fidelity {m['torch_fidelity']}, Python {m['python']}")
    load = m.get("load_average_at_start")
    if load:
        end = m.get("load_average_at_end")
        parts.append(f"load average (1/5/15 min) {'/'.join(map(str, load))} at start"
                     + (f", {'/'.join(map(str, end))} at end" if end else "")
                     + f" on {m['cpu_cores']} cores")
    return "; ".join(parts) + "."


def _range(s: dict, scale: float = 1.0, fmt: str = "{:.3f}") -> str:
    f = lambda v: fmt.format(v * scale)  # noqa: E731
    return f"{f(s['min'])}-{f(s['max'])} (IQR {f(s['q1'])}-{f(s['q3'])}, n={s['n']})"


def _training(rows: list[dict]) -> list[str]:
    out = ["### 1. Training step overhead: ganzoo / hand-written", "",
           "| model | sizes | settings | n_critic | ratio (median) | ratio min-max (IQR) | ganzoo it/s | hand it/s "
           "| ganzoo img/s | hand img/s |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        verdict = "" if r["ratio"]["median"] <= OVERHEAD_LIMIT else " (over 1.05)"
        out.append(f"| {r['model']} | {r['size']} | {r['settings']} | {r['n_critic']} | "
                   f"**{r['ratio']['median']:.3f}**{verdict} | {_range(r['ratio'])} | "
                   f"{r['ganzoo_iterations_per_second']:.2f} | {r['hand_iterations_per_second']:.2f} | "
                   f"{r['ganzoo_images_per_second']:.0f} | {r['hand_images_per_second']:.0f} |")
    if rows:
        out += ["", f"it/s = generator iterations per second (median); each run times {rows[0]['measured']} "
                f"generator iterations after {rows[0]['warmup']} of warm-up.",
                "", "Networks: " + "; ".join(f"{r['model']}: {r['networks']}" for r in rows) + "."]
    return out


def _fast_path(rows: list[dict]) -> list[str]:
    out = ["### Fast-path settings (ganzoo step time)", "",
           "| model | settings | ms / generator iteration (median) | min-max | speedup vs first row | setup + warm-up s |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        for s in r["settings"]:
            t = s["seconds_per_iteration"]
            out.append(f"| {r['model']} | {s['settings']} | {t['median'] * 1e3:.2f} | "
                       f"{t['min'] * 1e3:.2f}-{t['max'] * 1e3:.2f} | {s['speedup_vs_first']:.2f}x | "
                       f"{s['setup_seconds']['median']:.1f} |")
    return out


def _sampling(rows: list[dict]) -> list[str]:
    out = ["### 2. Sampling: `ganzoo.load(...).sample(n)` vs raw generator forward", "",
           "| model (generator) | sizes | n | batch | ganzoo img/s | raw img/s | time ratio ganzoo / raw |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(f"| {r['model']} ({r['generator']}) | {r['size']} | {r['count']} | {r['batch_size']} | "
                   f"{r['ganzoo_images_per_second']:.0f} | {r['raw_images_per_second']:.0f} | {r['ratio']:.3f} |")
    return out


def _evaluation(rows: list[dict]) -> list[str]:
    out = ["### 3. Evaluation: feature extraction and FID on 10k samples", "",
           "| extractor | weights | input | feature dim | features/s | FID wall time (10k fakes vs 10k reference) |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        wall = f"{r['fid_wall_seconds']:.1f} s"
        if r["fid_wall_extrapolated"]:
            wall = (f"~{wall} (extrapolated from {r['measured_images']} images + measured FID computation "
                    f"{r['fid_compute_seconds']:.1f} s)")
        out.append(f"| {r['extractor']} | {r['weights']} | {'x'.join(map(str, r['image_shape']))} | "
                   f"{r['feature_dim']} | {r['features_per_second']:.0f} | {wall} |")
    return out


def _hardware(section: dict) -> list[str]:
    p = section["peak"]
    out = ["### 4. Hardware use", "",
           f"Measured peak ({p['dtype']}, channels_last={p['channels_last']}): matmul "
           f"{p['matmul_flops_per_second'] / 1e12:.3f} TFLOP/s ({p['matmul_shape']}), convolution "
           f"{p['conv_flops_per_second'] / 1e12:.3f} TFLOP/s ({p['conv_shape']}).", "",
           "| model | GFLOP / generator iteration | it/s (ganzoo) | achieved TFLOP/s | % of conv peak | % of matmul peak |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in section["models"]:
        out.append(f"| {r['model']} | {r['flops_per_iteration'] / 1e9:.2f} | {r['iterations_per_second']:.2f} | "
                   f"{r['achieved_flops_per_second'] / 1e12:.4f} | {r['fraction_of_conv_peak']:.1%} | "
                   f"{r['fraction_of_matmul_peak']:.1%} |")
    return out
