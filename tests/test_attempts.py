"""The model cards' attempts table and figure (scripts/attempts.py): numbers read from the logs."""
import sys
from pathlib import Path

import pytest

from ganzoo.zoo import render_model_card

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
try:
    from attempts import Attempt, Run, attempts_table, last_shared_evaluation, plot_attempts
finally:
    sys.path.pop(0)

BASE = Run("the base run", "base.csv", "base.yaml")
LONG = Run("a long change", "long.csv", "long.yaml")
SHORT = Run("a short change", "short.csv", "short.yaml")
LOGS = {  # g_iter, fid, recall: the base ran longest, the short change was stopped early
    "base.csv": [(5000, 40.0, 0.010), (10000, 30.0, 0.050), (15000, 25.0, 0.080), (20000, 22.0, 0.100)],
    "long.csv": [(5000, 45.0, 0.020), (10000, 28.0, 0.060), (15000, 21.04, 0.0905), (20000, 19.0, 0.12),
                 (25000, 18.0, 0.13)],
    "short.csv": [(5000, 50.0, 0.001), (10000, 35.0, 0.004)],
    "disjoint.csv": [(7000, 10.0, 0.5)],
}


def evaluations(log: str, recipe: str):
    return [{"g_iter": float(it), "fid": fid, "recall": recall} for it, fid, recall in LOGS[log]]


def test_each_attempt_is_compared_at_the_last_evaluation_both_runs_logged():
    ours, theirs = last_shared_evaluation(Attempt("c", "h", LONG, BASE, "o"), evaluations)
    assert (ours["g_iter"], theirs["g_iter"]) == (20000, 20000) and (ours["fid"], theirs["fid"]) == (19.0, 22.0)
    ours, theirs = last_shared_evaluation(Attempt("c", "h", SHORT, BASE, "o"), evaluations)
    assert ours["g_iter"] == 10000 and theirs["recall"] == 0.050
    with pytest.raises(ValueError, match="share no evaluation"):
        last_shared_evaluation(Attempt("c", "h", Run("d", "disjoint.csv", "d.yaml"), BASE, "o"), evaluations)


def test_the_table_quotes_both_runs_as_the_cards_round_them():
    table = attempts_table([Attempt("wider D", "`--d 2`", LONG, BASE, "kept", kept=True),
                            Attempt("dropout", "`--p 0.5`", SHORT, BASE, "worse")], evaluations)
    header, rule, long_row, short_row = table.splitlines()
    assert header.count("|") == rule.count("|") == long_row.count("|") == short_row.count("|")
    assert "| wider D | `--d 2` | the base run | 20k | 19.0 against 22.0 | 0.120 against 0.100 | kept | long.csv |" \
        == long_row
    assert "| 10k | 35.0 against 30.0 | 0.004 against 0.050 | worse |" in short_row


def test_the_figure_is_written_with_one_column_per_reference(tmp_path):
    path = tmp_path / "attempts.png"
    plot_attempts([Attempt("a", "h", LONG, BASE, "o"), Attempt("b", "h", SHORT, LONG, "o")], evaluations,
                  {"fid": 15.0, "recall": 0.4}, "title", path)
    from PIL import Image

    width, height = Image.open(path).size
    assert width > height  # two columns side by side, two rows


def test_a_card_has_the_attempts_section_only_when_given():
    info = {"name": "m", "variant": "vanilla", "dataset": "d"}
    assert "Changes tried on the way" not in render_model_card(info)
    card = render_model_card({**info, "attempts": "| the table |"})
    assert "### Changes tried on the way\n\n| the table |" in card
    assert card.index("Changes tried on the way") < card.index("## Metrics")


def test_no_committed_card_or_readme_holds_an_unformatted_placeholder():
    # A string that lost its f prefix in scripts/build_zoo.py once put "{attempts_table(...)}" into a card.
    import re

    for path in sorted((ROOT / "model_cards").glob("*.md")) + [ROOT / "README.md"]:
        leftovers = re.findall(r"\{[A-Za-z_][\w.\[\]'\"]*[(}:]", path.read_text())
        assert not leftovers, (path.name, leftovers)
