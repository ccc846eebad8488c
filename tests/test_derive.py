"""N and D worked out from a run's config when not logged: checked against published parameter
counts and closed forms, never against the code's own output."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scalecli.cli import app

runner = CliRunner()

# Published configs (Hugging Face config.json) and parameter counts (the models' own totals).
# The formula leaves out RMSNorm weights (2·d per layer + d): 266,240 for both.
LLAMA2_7B = {"num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 11008,
             "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
             "hidden_act": "silu", "tie_word_embeddings": "false"}
LLAMA2_7B_PARAMS = 6_738_415_616
MISTRAL_7B = {"num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
              "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
              "hidden_act": "silu", "tie_word_embeddings": "false"}
MISTRAL_7B_PARAMS = 7_241_732_096
NORMS = 32 * 2 * 4096 + 4096


def _csv(path, configs: list[dict], steps=(100, 200), extra: dict | None = None):
    keys = list(configs[0]) + list(extra or {})
    lines = ["run," + ",".join(keys) + ",step,loss"]
    for i, cfg in enumerate(configs):
        vals = {**cfg, **(extra or {})}
        for s in steps:
            lines.append(f"r{i}," + ",".join(str(vals[k]) for k in keys) + f",{s},{3 + 1 / s}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _runs(path, *args):
    r = runner.invoke(app, ["runs", str(path), "--format", "json", *args])
    assert r.exit_code == 0, r.output
    return {row["name"]: row for row in json.loads(r.stdout)}


@pytest.mark.parametrize("cfg,published", [(LLAMA2_7B, LLAMA2_7B_PARAMS),
                                           (MISTRAL_7B, MISTRAL_7B_PARAMS)])
def test_total_parameters_match_published_counts(tmp_path, cfg, published):
    f = _csv(tmp_path / "cfg.csv", [cfg], extra={"tokens": 1e9})
    row = _runs(f)["r0"]
    assert row["n_params"] == published - NORMS  # exact: only the norm weights are left out
    assert "n_params_derived" in row and "vocab_size" in row["n_params_derived"]
    assert row["n_params_mark"] == "†"


def test_non_embedding_is_kaplans_closed_form(tmp_path):
    # Kaplan et al. 2020 eq. 2.1 with d_attn = d_model, d_ff = 4·d_model: N = 12·n_layer·d_model²
    cfgs = [{"n_layers": L, "d_model": d, "vocab_size": 50257} for L, d in
            [(6, 384), (12, 768), (24, 1024)]]
    f = _csv(tmp_path / "k.csv", cfgs, extra={"tokens": 1e9})
    rows = _runs(f, "--params", "non-embedding")
    for i, cfg in enumerate(cfgs):
        assert rows[f"r{i}"]["n_params"] == 12 * cfg["n_layers"] * cfg["d_model"] ** 2
    total = _runs(f)  # untied by default: input and output embeddings both counted
    for i, cfg in enumerate(cfgs):
        want = 12 * cfg["n_layers"] * cfg["d_model"] ** 2 + 2 * 50257 * cfg["d_model"]
        assert total[f"r{i}"]["n_params"] == want


def test_tied_embeddings_count_once(tmp_path):
    # GPT-2 small: 12 layers, 768 wide, tied; 124,439,808 with 786,432 positional
    # embeddings and 121,344 biases and norm weights, which the rule leaves out.
    cfg = {"n_layer": 12, "n_embd": 768, "vocab_size": 50257, "tie_word_embeddings": "true"}
    row = _runs(_csv(tmp_path / "g.csv", [cfg], extra={"tokens": 1e9}))["r0"]
    assert row["n_params"] == 124_439_808 - 786_432 - 121_344


def test_tokens_from_steps_batch_and_sequence(tmp_path):
    cfg = {"n_params": 1e8, "batch_size": 256, "seq_len": 2048}
    rows = _runs(_csv(tmp_path / "d.csv", [cfg], steps=(10, 3815)))
    assert rows["r0"]["tokens"] == 3815 * 256 * 2048
    assert rows["r0"]["tokens_mark"] == "‡"
    assert rows["r0"]["flops"] == 6 * 1e8 * 3815 * 256 * 2048


def test_logged_sizes_win_and_are_not_marked(tmp_path):
    cfg = {"n_params": 1e8, "n_layers": 12, "d_model": 768, "vocab_size": 50257,
           "batch_size": 8, "seq_len": 8}
    row = _runs(_csv(tmp_path / "l.csv", [cfg], extra={"tokens": 5e9}))["r0"]
    assert row["n_params"] == 1e8 and row["tokens"] == 5e9
    assert "n_params_derived" not in row and "tokens_derived" not in row


def test_a_fit_on_derived_sizes_says_so_and_recovers_the_law(tmp_path):
    E, A, alpha, B, beta = 1.7, 400.0, 0.34, 410.0, 0.28
    lines = ["run,n_layers,d_model,vocab_size,batch_size,seq_len,step,loss"]
    for i, (L, d) in enumerate([(6, 384), (8, 576), (12, 768), (24, 1024), (24, 1856)]):
        for s in (100, 300, 1000, 3000):
            N, D = 12 * L * d * d + 2 * 50304 * d, s * 256 * 2048
            lines.append(f"r{i},{L},{d},50304,256,2048,{s},{E + A / N ** alpha + B / D ** beta!r}")
    f = tmp_path / "sweep.csv"
    f.write_text("\n".join(lines) + "\n")
    r = runner.invoke(app, ["fit", str(f), "--law", "chinchilla", "--points", "all",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out["data"]["derived"]) == {"N", "D"}
    for k, v in {"E": E, "A": A, "alpha": alpha, "B": B, "beta": beta}.items():
        assert out["params"][k] == pytest.approx(v, rel=1e-3)


def test_a_config_without_width_is_refused_naming_what_is_missing(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("run,n_layers,tokens,loss\nr0,12,1e9,3.1\n")
    r = runner.invoke(app, ["runs", str(f)])
    assert r.exit_code == 1
    assert "no model size (N) column" in r.output and "n_layers" in r.output


def test_params_setting_is_checked(tmp_path):
    f = _csv(tmp_path / "c.csv", [LLAMA2_7B], extra={"tokens": 1e9})
    r = runner.invoke(app, ["runs", str(f), "--params", "embedding"])
    assert r.exit_code == 1
    assert "total or non-embedding" in r.output
