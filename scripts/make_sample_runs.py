"""Write the bundled sample sweep into sample_runs/ (see sample_runs/README.md).

24 synthetic training runs, 6 model sizes x 4 token budgets, each with a 40-point loss curve
drawn from a known Chinchilla law with 0.5% multiplicative Gaussian noise. The output is
deterministic: a fixed seed and no clock, so running this twice gives byte-identical files.

    python scripts/make_sample_runs.py

Each run is written exactly once, in one of three formats (a directory ingest reads every file):
the two smallest sizes as tidy CSV, the middle two as tidy JSONL, the two largest as a W&B
public-API dump (runs.jsonl + history.jsonl, the shapes of the fixtures in tests).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "sample_runs"

# The generating law L(N, D) = E + A / N^alpha + B / D^beta, close to Epoch AI's 2024
# replication of Chinchilla (Besiroglu et al., arXiv:2404.10102).
LAW = {"E": 1.8, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}
NOISE = 0.005  # loss = L(N, D) * (1 + NOISE * z), z ~ N(0, 1), independently per logged point
SEED = 20240416
TOKENS_PER_STEP = 524_288  # 256 sequences x 2048 tokens
POINTS = 40  # logged points per run, evenly spaced in optimizer steps
TOKENS_PER_PARAM = (5, 10, 20, 40)
# name, N, n_layers, d_model, n_heads, peak lr
MODELS = (
    ("20M", 20_000_000, 6, 512, 8, 2.0e-3),
    ("50M", 50_000_000, 10, 640, 10, 1.5e-3),
    ("120M", 120_000_000, 12, 896, 14, 1.2e-3),
    ("300M", 300_000_000, 24, 1024, 16, 8.0e-4),
    ("700M", 700_000_000, 24, 1536, 24, 6.0e-4),
    ("1.5B", 1_500_000_000, 48, 1600, 25, 4.0e-4),
)
FILES = {  # which file holds which model sizes
    "sweep_small.csv": ("20M", "50M"),
    "sweep_mid.jsonl": ("120M", "300M"),
    "wandb/": ("700M", "1.5B"),
}
# W&B metadata: a fixed start instead of the clock; step time from an assumed 1 PFLOP/s.
WANDB = {"entity": "scalecli-sample", "project": "chinchilla-sample", "group": "sample-sweep"}
START_UNIX = 1_714_550_400  # 2024-05-01T08:00:00Z
FLOPS_PER_SECOND = 1e15


def law(n, d):
    return LAW["E"] + LAW["A"] / n ** LAW["alpha"] + LAW["B"] / d ** LAW["beta"]


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warmup, then cosine decay to 0.1 x peak (as in the ingest fixtures)."""
    if step < warmup:
        return peak * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def simulate() -> list[dict]:
    """Every run with its logged points, in a fixed order (size, then token budget)."""
    rng = np.random.default_rng(SEED)
    id_rng = np.random.default_rng(SEED + 1)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
    runs = []
    for size, n, n_layers, d_model, n_heads, peak in MODELS:
        for tpp in TOKENS_PER_PARAM:
            total_steps = round(tpp * n / TOKENS_PER_STEP)
            steps = np.rint(np.linspace(total_steps / POINTS, total_steps, POINTS)).astype(int)
            assert len(set(steps.tolist())) == POINTS and steps[-1] == total_steps
            tokens = steps.astype(np.int64) * TOKENS_PER_STEP
            clean = law(float(n), tokens.astype(float))
            loss = clean * (1 + NOISE * rng.standard_normal(POINTS))
            warmup = max(1, round(0.01 * total_steps))
            runs.append({
                "name": f"gpt-{size}-{tpp}tpp",
                "id": "".join(id_rng.choice(alphabet, 8)),
                "size": size, "n_params": n, "tokens_per_param": tpp,
                "n_layers": n_layers, "d_model": d_model, "n_heads": n_heads, "lr": peak,
                "total_steps": total_steps, "warmup_steps": warmup,
                "total_tokens": int(tokens[-1]),
                "steps": steps.tolist(), "tokens": tokens.tolist(),
                "loss": loss.tolist(), "loss_noiseless": clean.tolist(),
                "lrs": [lr_at(int(s), total_steps, warmup, peak) for s in steps],
            })
    return runs


def tidy_rows(runs: list[dict]) -> list[dict]:
    """One row per logged point: run, n_params, tokens, step, train/loss (6 decimals; the name the W&B runs log too), lr."""
    return [
        {"run": r["name"], "n_params": r["n_params"], "tokens": tok, "step": step,
         "train/loss": round(loss, 6), "lr": float(f"{lr:.6g}")}
        for r in runs
        for step, tok, loss, lr in zip(r["steps"], r["tokens"], r["loss"], r["lrs"], strict=True)
    ]


def write_csv(path: Path, runs: list[dict]) -> None:
    rows = tidy_rows(runs)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def write_jsonl(path: Path, runs: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in tidy_rows(runs)), encoding="utf-8")


def iso(unix: float) -> str:
    days, secs = divmod(int(unix), 86_400)
    date = np.datetime64("1970-01-01") + np.timedelta64(days, "D")
    return f"{date}T{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}Z"


def write_wandb(folder: Path, runs: list[dict]) -> None:
    """runs.jsonl (one line per run) and history.jsonl (one line per logged point), in the
    shapes of tests' fixtures wandb_api_runs.jsonl / wandb_api_history.jsonl."""
    folder.mkdir(exist_ok=True)
    run_lines, hist_lines = [], []
    start = START_UNIX
    for r in runs:
        sec_per_step = 6 * r["n_params"] * TOKENS_PER_STEP / FLOPS_PER_SECOND
        history = []
        for step, tok, loss, lr in zip(r["steps"], r["tokens"], r["loss"], r["lrs"], strict=True):
            runtime = round(step * sec_per_step, 3)
            history.append({
                "run_id": r["id"], "run_name": r["name"], "_runtime": runtime, "_step": step,
                "_timestamp": round(start + runtime, 3), "tokens_seen": tok,
                "train/loss": loss, "train/lr": lr,
            })
        last = history[-1]
        path = [WANDB["entity"], WANDB["project"], r["id"]]
        run_lines.append({
            "id": r["id"], "name": r["name"], "state": "finished",
            "entity": WANDB["entity"], "project": WANDB["project"], "path": path,
            "url": "https://wandb.ai/" + "/".join(path[:2]) + "/runs/" + r["id"],
            "group": WANDB["group"], "job_type": "train",
            "tags": ["sample", f"N={r['size']}", f"{r['tokens_per_param']}tpp"],
            "notes": "synthetic sample run (scripts/make_sample_runs.py)",
            "created_at": iso(start), "heartbeat_at": iso(last["_timestamp"]),
            "config": {
                "n_params": r["n_params"], "n_layers": r["n_layers"], "d_model": r["d_model"],
                "n_heads": r["n_heads"], "lr": r["lr"], "batch_size": 256, "seq_len": 2048,
                "total_tokens": r["total_tokens"], "warmup_steps": r["warmup_steps"],
                "optimizer": "adamw", "dataset": "synthetic-web",
            },
            "summary": {
                "_wandb": {"runtime": int(last["_runtime"])}, "_runtime": last["_runtime"],
                "train/loss": last["train/loss"], "tokens_seen": last["tokens_seen"],
                "train/lr": last["train/lr"], "_timestamp": last["_timestamp"],
                "_step": last["_step"],
            },
            "lastHistoryStep": last["_step"],
        })
        hist_lines.extend(history)
        start = math.ceil(last["_timestamp"]) + 600  # the next run starts 10 minutes later
    for name, rows in (("runs.jsonl", run_lines), ("history.jsonl", hist_lines)):
        (folder / name).write_text("".join(json.dumps(x) + "\n" for x in rows), encoding="utf-8")


def write_truth(path: Path, runs: list[dict], where: dict[str, str]) -> None:
    a, b = LAW["alpha"], LAW["beta"]
    g = (a * LAW["A"] / (b * LAW["B"])) ** (1 / (a + b))
    truth = {
        "law": "L = E + A/N^alpha + B/D^beta, D = tokens seen",
        **LAW,
        "noise": f"loss x (1 + {NOISE} z), z ~ N(0, 1), independent per logged point",
        "seed": SEED,
        "tokens_per_step": TOKENS_PER_STEP,
        "points_per_run": POINTS,
        "compute_optimal": {
            "formula": "N_opt = G (C/6)^a, D_opt = (C/6)^b / G, C = 6 N D",
            "G": g, "a": b / (a + b), "b": a / (a + b),
        },
        "runs": [
            {"name": r["name"], "id": r["id"], "file": where[r["size"]],
             "n_params": r["n_params"], "tokens_per_param": r["tokens_per_param"],
             "final_step": r["total_steps"], "final_tokens": r["total_tokens"],
             "flops": 6 * r["n_params"] * r["total_tokens"],
             "final_loss_noiseless": r["loss_noiseless"][-1],
             "final_loss_logged": (r["loss"][-1] if where[r["size"]] == "wandb"
                                   else round(r["loss"][-1], 6))}
            for r in runs
        ],
    }
    path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    runs = simulate()
    where = {size: file for file, sizes in FILES.items() for size in sizes}
    assert sorted(where) == sorted(m[0] for m in MODELS), "every size goes to exactly one file"
    for file, sizes in FILES.items():
        part = [r for r in runs if r["size"] in sizes]
        if file.endswith(".csv"):
            write_csv(OUT / file, part)
        elif file.endswith(".jsonl"):
            write_jsonl(OUT / file, part)
        else:
            write_wandb(OUT / file, part)
    write_truth(OUT / "truth.json", runs, {s: f.rstrip("/") for s, f in where.items()})
    print(f"wrote {len(runs)} runs to {OUT}")


if __name__ == "__main__":
    main()
