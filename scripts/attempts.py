"""Recipe changes tried on a zoo model, one change each, as a table and a figure for its card.

A model that misses the zoo's bar collects attempts: each is one change against a reference run, both
logged by the evaluation callback (docs/runs). The card shows every attempt beside its reference at
their last shared evaluation, and a figure of all the curves, so a reader sees at a glance what was
tried, what helped and by how much. Every number is read from the logs, none typed by hand.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# The recall bar's limiting numbers, as the cards quote them.
DIGITS = {"fid": 1, "recall": 3}


@dataclass(frozen=True)
class Run:
    """A logged training run: a short name for tables and legends, its log and the recipe that gives its
    evaluation period."""
    name: str
    log: str
    recipe: str


@dataclass(frozen=True)
class Attempt:
    """One change against a reference run: what changed, how it was run, and what became of it (``kept``:
    the change stayed in the model, drawn bold in the figure)."""
    change: str
    how: str
    run: Run
    against: Run
    outcome: str
    kept: bool = False


Evaluations = Callable[[str, str], Sequence[dict[str, float]]]


def last_shared_evaluation(attempt: Attempt, evaluations: Evaluations) -> tuple[dict, dict]:
    """The attempt's and its reference's evaluations at the last iteration both logged."""
    ours = {int(row["g_iter"]): row for row in evaluations(attempt.run.log, attempt.run.recipe)}
    theirs = {int(row["g_iter"]): row for row in evaluations(attempt.against.log, attempt.against.recipe)}
    shared = sorted(set(ours) & set(theirs))
    if not shared:
        raise ValueError(f"{attempt.run.log} and {attempt.against.log} share no evaluation: nothing to compare")
    return ours[shared[-1]], theirs[shared[-1]]


def attempts_table(attempts: Sequence[Attempt], evaluations: Evaluations) -> str:
    """A markdown table: each attempt against its reference at their last shared evaluation."""
    rows = ["| change (one each) | how it ran | compared with | at | FID (lower is better) | recall | outcome "
            "| log |",
            "| --- | --- | --- | ---: | --- | --- | --- | --- |"]
    for attempt in attempts:
        ours, theirs = last_shared_evaluation(attempt, evaluations)
        cells = [f"{ours[key]:.{places}f} against {theirs[key]:.{places}f}" for key, places in DIGITS.items()]
        rows.append(f"| {attempt.change} | {attempt.how} | {attempt.against.name} | {int(ours['g_iter']) // 1000}k "
                    f"| {' | '.join(cells)} | {attempt.outcome} | {attempt.run.log} |")
    return "\n".join(rows)


def plot_attempts(attempts: Sequence[Attempt], evaluations: Evaluations, bar: dict, title: str,
                  path: Path) -> None:
    """FID and recall against generator iterations: one column per reference run, its curve bold and
    black, the attempts on it thin (those kept bold), each in its own colour, the bar dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    references = list(dict.fromkeys(attempt.against for attempt in attempts))
    colours = [colour for number, colour in enumerate(plt.get_cmap("tab20").colors) if number not in (14, 15)]  # no greys
    fig, axes = plt.subplots(2, len(references), figsize=(5.2 * len(references), 6.4), squeeze=False,
                             sharex="col")
    for column, reference in enumerate(references):
        fid_axis, recall_axis = axes[0][column], axes[1][column]
        for run, style in [(reference, {"color": "black", "linewidth": 2.5})] + [
                (attempt.run, {"linewidth": 2.5 if attempt.kept else 1.0, "marker": "s" if attempt.kept else "o",
                               "color": colours[number % len(colours)]})
                for number, attempt in enumerate(attempts) if attempt.against == reference]:
            rows = evaluations(run.log, run.recipe)
            iterations = [row["g_iter"] / 1000 for row in rows]
            style = {"marker": "o", **style}
            fid_axis.plot(iterations, [row["fid"] for row in rows], markersize=3, label=run.name, **style)
            recall_axis.plot(iterations, [row["recall"] for row in rows], markersize=3, **style)
        fid_axis.axhline(bar["fid"], color="grey", linestyle="--", label=f"bar: FID <= {bar['fid']:g}")
        recall_axis.axhline(bar["recall"], color="grey", linestyle="--")
        fid_axis.set_title(f"changes against {reference.name}", fontsize=10)
        fid_axis.set_ylabel("in-domain FID")
        fid_axis.set_ylim(0, 70)
        recall_axis.set_ylabel("recall")
        recall_axis.set_ylim(0, max(0.45, bar["recall"] + 0.05))
        recall_axis.set_xlabel("generator iterations (thousands)")
        fid_axis.legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
