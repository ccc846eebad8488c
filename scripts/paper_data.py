"""Write the small derived CSVs that the papers' reproductions fit (configs/papers/README.md).

scalecli has no row filter, so the rows a paper selected from a data set are written here, by
the paper's own rule, as a strict subset of the original rows (values copied, not recomputed):

tests/data/chinchilla_epoch/svg_extracted_data_240.csv
    Besiroglu et al. 2024 (epoch-research/analyzing-chinchilla, data_analysis.ipynb, cell
    In[25]): keep the rows with ``loss < sorted(losses)[-5]``, i.e. drop the 5 highest losses.
    The original lines are copied byte for byte; scalecli derives D = C / (6 N) as the notebook
    does (it logs only N and C).

tests/data/gadre_overtraining/downstream.csv            (only with --scaling-repo)
    Gadre et al. 2024: per run, the average top-1 error over the 46 downstream tasks
    (``err_avg``) and over the 17-task subset (``err_avg_subset``), computed from
    exp_data/evals/*.json exactly as mlfoundations/scaling's scaling/shared.py
    (parse_model_json) does. Needs a checkout of github.com/mlfoundations/scaling (commit
    a003c4913793ac2ae7ef87b28ecb562955d026d5); without --scaling-repo the committed file is used.

tests/data/gadre_overtraining/figure1_rpj_{loss,error,targets}.csv
    The runs behind the paper's Figure 1 (RedPajama), selected as scaling/shared.py fit_ds does:
    loss fit = the four small models at M = 20 plus the 11M model at M = 320; error fit = those
    five plus the 1.4B model at M = 20; targets = the 1.4B model at M = 640 and the 6.9B model
    at M = 20 (scaling_explorer.ipynb, cell 2).

Run from the repository root:  python scripts/paper_data.py [--scaling-repo PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EPOCH = ROOT / "tests" / "data" / "chinchilla_epoch"
GADRE = ROOT / "tests" / "data" / "gadre_overtraining"

# scaling/constants.py (mlfoundations/scaling @ a003c49): the 46 tasks of the average
# (FRIENDLY_CITATIONS keys) and the 17-task subset (SUBSET).
TASKS_46 = (
    "agi_eval_lsat_ar", "agi_eval_lsat_rc", "agi_eval_lsat_lr", "agi_eval_sat_en", "arc_easy",
    "arc_challenge", "bbq", "bigbench_conceptual_combinations", "bigbench_conlang_translation",
    "bigbench_cs_algorithms", "bigbench_dyck_languages", "bigbench_elementary_math_qa",
    "bigbench_misconceptions", "bigbench_language_identification", "bigbench_logical_deduction",
    "bigbench_novel_concepts", "bigbench_operators", "bigbench_repeat_copy_logic",
    "bigbench_qa_wikidata", "bigbench_strange_stories", "bigbench_strategy_qa",
    "bigbench_understanding_fables", "boolq", "commonsense_qa", "copa", "coqa",
    "enterprise_pii_classification", "hellaswag", "hellaswag_zeroshot", "jeopardy",
    "lambada_openai", "logi_qa", "math_qa", "mmlu", "mmlu_zeroshot", "openbook_qa", "piqa",
    "pubmed_qa_labeled", "simple_arithmetic_nospaces", "simple_arithmetic_withspaces", "siqa",
    "squad", "winogender_mc_female", "winogender_mc_male", "winograd", "winogrande",
)
SUBSET_17 = (
    "bigbench_operators", "pubmed_qa_labeled", "hellaswag_zeroshot", "boolq", "arc_easy", "coqa",
    "bigbench_dyck_languages", "lambada_openai", "bigbench_novel_concepts", "winograd",
    "bigbench_cs_algorithms", "commonsense_qa", "bigbench_qa_wikidata", "hellaswag", "copa",
    "squad", "piqa",
)
SMALL_MODELS = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")


def epoch_240() -> Path:
    """The 240 rows Besiroglu et al. fit: every row whose loss is below the 5th largest."""
    src = EPOCH / "svg_extracted_data.csv"
    lines = src.read_text().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    col = next(csv.reader([header])).index("loss")
    losses = [float(next(csv.reader([line]))[col]) for line in body]
    threshold = sorted(losses)[-5]
    kept = [line for line, loss in zip(body, losses) if loss < threshold]
    out = EPOCH / "svg_extracted_data_240.csv"
    out.write_text(header + "".join(kept))
    return out


def downstream(scaling_repo: Path) -> Path:
    """Average top-1 errors per run, as scaling/shared.py parse_model_json computes them."""
    assert len(TASKS_46) == 46 and len(SUBSET_17) == 17
    with open(GADRE / "runs.csv", newline="") as f:
        names = [r["name"] for r in csv.DictReader(f)]
    out = GADRE / "downstream.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "err_avg", "err_avg_subset"])
        for name in sorted(names):
            path = scaling_repo / "exp_data" / "evals" / f"evaluation_{name}_heavy.json"
            icl = json.loads(path.read_text())["eval_metrics"]["icl"]
            total = subset = 0.0
            n_total = n_subset = 0
            for task, acc in icl.items():  # file order, as the reference code sums
                if task in TASKS_46:
                    err = 1.0 - acc
                    if task in SUBSET_17:
                        subset += err
                        n_subset += 1
                    total += err
                    n_total += 1
            assert n_total == 46 and n_subset == 17, (name, n_total, n_subset)
            w.writerow([name, repr(total / n_total), repr(subset / n_subset)])
    return out


def gadre_figure1(dataset: str = "rpj") -> list[Path]:
    """The runs of Figure 1: the loss fit, the error fit and the two extrapolation targets."""
    with open(GADRE / "runs.csv", newline="") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        runs = [r for r in reader if r["dataset"] == dataset]
    with open(GADRE / "downstream.csv", newline="") as f:
        errors = {r["name"]: r for r in csv.DictReader(f)}
    for r in runs:
        r["err_avg"] = errors[r["name"]]["err_avg"]
        r["err_avg_subset"] = errors[r["name"]]["err_avg_subset"]
    runs.sort(key=lambda r: 6 * int(r["n_params"]) * int(r["tokens"]))  # fit_ds sorts by flops
    mult = {r["name"]: float(r["chinchilla_multiplier"]) for r in runs}
    loss_fit = [r for r in runs if r["model"] in SMALL_MODELS and mult[r["name"]] == 1.0]
    loss_fit += [r for r in runs if r["model"] == "d=96_l=8_h=4" and mult[r["name"]] == 16.0]
    error_fit = loss_fit + [r for r in runs
                            if r["model"] == "open_lm_1b" and mult[r["name"]] == 1.0]
    targets = [r for r in runs if r["model"] in ("open_lm_1b", "open_lm_7b")
               and 6 * int(r["n_params"]) * int(r["tokens"]) > 248761226153164800000]
    assert len(loss_fit) == 5 and len(error_fit) == 6 and len(targets) == 2
    written = []
    for part, rows in (("loss", loss_fit), ("error", error_fit), ("targets", targets)):
        out = GADRE / f"figure1_{dataset}_{part}.csv"
        with open(out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=[*fields, "err_avg", "err_avg_subset"],
                               lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        written.append(out)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scaling-repo", type=Path,
                    help="checkout of github.com/mlfoundations/scaling (recomputes downstream.csv)")
    args = ap.parse_args()
    written = [epoch_240()]
    if args.scaling_repo is not None:
        written.append(downstream(args.scaling_repo))
    written += gadre_figure1("rpj")
    for p in written:
        print(p.relative_to(ROOT))


if __name__ == "__main__":
    main()
