"""N and D worked out from a run's config when the log does not give them, said as derived.

A team that logs ``n_layers: 24, d_model: 1024, vocab_size: 50304`` but no parameter count, or
steps and a batch size but no token counter, still has a sweep to fit. The rules here are
stated in every output (the column report, ``runs``, the fit's ``data.derived``), because a
derived number is only as good as its formula:

- **N, non-embedding** (Kaplan et al. 2020, eq. 2.1, generalised): per layer, attention
  ``2·d² + 2·d·d·(kv_heads/heads)`` (query and output full, key and value shared across
  ``heads/kv_heads`` heads under grouped-query attention) plus the MLP ``2·d·d_ff``, or
  ``3·d·d_ff`` for a gated one (SwiGLU, GeGLU, LLaMA's ``silu``); ``d_ff = 4·d`` when the config does not give it.
  Biases, norms and positional embeddings are left out (under 1% at these sizes).
- **N, total** (what Chinchilla counts): non-embedding plus the embeddings, ``vocab·d`` when
  tied, ``2·vocab·d`` (input and output) otherwise; untied unless the config says tied.
- **D** from the steps: ``step × batch_size × seq_len`` (batch size in sequences), or
  ``step × tokens_per_step``; the run's D is the product at its last logged step.
- **C** from logged FLOPs, else 6·N·D (``flops_derived``, done where runs are joined).

``--params non-embedding|total`` chooses N's rule (total by default); a logged count always wins.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYERS = ("n_layers", "num_layers", "n_layer", "num_hidden_layers", "layers", "depth")
WIDTH = ("d_model", "hidden_size", "n_embd", "dim", "model_dim", "width", "embed_dim")
VOCAB = ("vocab_size", "n_vocab", "padded_vocab_size", "vocab")
FFN = ("d_ff", "ffn_dim", "intermediate_size", "ffn_hidden_size", "mlp_dim", "n_inner", "d_mlp",
       "ffn_size")
HEADS = ("n_heads", "num_attention_heads", "n_head", "num_heads")
KV_HEADS = ("n_kv_heads", "num_key_value_heads", "num_kv_heads", "n_kv_head")
TIED = ("tie_word_embeddings", "tied_embeddings", "tie_embeddings", "weight_tying",
        "tie_weights")
ACTIVATION = ("activation", "hidden_act", "mlp_type", "ffn_type", "act_fn", "mlp")
GATED = ("gated_mlp", "glu", "use_glu")
BATCH = ("batch_size", "global_batch_size", "train_batch_size")
SEQ = ("seq_len", "seq_length", "sequence_length", "max_seq_len", "max_seq_length",
       "context_length", "block_size", "n_ctx")
STEP_TOKENS = ("tokens_per_step", "batch_tokens", "tokens_per_batch", "batch_size_tokens")
TOTAL_STEPS = ("total_steps", "train_steps", "max_steps", "num_steps", "steps")

PARAMS = ("total", "non-embedding")


@dataclass
class Derived:
    """A derived role: the column name it goes by (the formula), its polars expression, the
    config columns it reads (they must be numbers) and the one-line rule said to the user."""

    column: str
    expr: object  # pl.Expr
    inputs: list[str]
    rule: str


def _find(cols: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in cols}
    return next((lower[n] for n in names if n in lower), None)


def _truthy(col: str):
    import polars as pl

    text = pl.col(col).cast(pl.String).str.strip_chars().str.to_lowercase()
    return text.is_in(["true", "1", "1.0", "yes"])


def _gated(cols: list[str]):
    """A gated MLP (three matrices) when the config says so: a ``glu`` flag, or an activation
    named ``*glu`` (swiglu, geglu) or ``silu``/``swish`` (LLaMA-family configs name the gated
    MLP's activation ``silu``)."""
    import polars as pl

    flag = _find(cols, GATED)
    if flag:
        return _truthy(flag)
    act = _find(cols, ACTIVATION)
    if act:
        name = pl.col(act).cast(pl.String).str.to_lowercase()
        return (name.str.contains("glu") | name.is_in(["silu", "swish"])).fill_null(False)
    return None


def params(cols: list[str], kind: str = "total") -> Derived | None:
    """N from layers and width (and vocabulary for ``total``), or None if the config lacks them."""
    import polars as pl

    layers, width = _find(cols, LAYERS), _find(cols, WIDTH)
    vocab = _find(cols, VOCAB)
    if not layers or not width or (kind == "total" and not vocab):
        return None
    d, L = pl.col(width), pl.col(layers)
    ffn = _find(cols, FFN)
    heads, kv = _find(cols, HEADS), _find(cols, KV_HEADS)
    inputs = [layers, width]
    dff = pl.col(ffn) if ffn else 4.0 * d
    inputs += [ffn] if ffn else []
    share = (pl.col(kv) / pl.col(heads)) if heads and kv else pl.lit(1.0)
    inputs += [heads, kv] if heads and kv else []
    attn = 2.0 * d * d + 2.0 * d * d * share
    gated = _gated(cols)
    mlp = (pl.when(gated).then(3.0).otherwise(2.0) if gated is not None else pl.lit(2.0)) * d * dff
    expr = L * (attn + mlp)
    kv_text = f"·(1+{kv}/{heads})" if heads and kv else "·2"
    ff_text = ffn or f"4·{width}"
    mlp_text = f"{'(2 or 3 if gated)' if gated is not None else '2'}·{width}·{ff_text}"
    rule = f"{layers}·(2·{width}²{kv_text} + {mlp_text})"
    if kind == "total":
        tied = _find(cols, TIED)
        emb = pl.when(_truthy(tied)).then(1.0).otherwise(2.0) if tied else pl.lit(2.0)
        expr = expr + emb * pl.col(vocab) * d
        inputs.append(vocab)
        rule += (f" + ({'1 if ' + tied + ' else 2' if tied else '2, untied'})·{vocab}·{width}")
    name = "N from config (" + ("total" if kind == "total" else "non-embedding") + ")"
    return Derived(name, expr, inputs, f"N = {rule}")


def tokens(cols: list[str], step: str | None) -> Derived | None:
    """D = steps × tokens per step, from the config; None if it does not say both."""
    import polars as pl

    steps = step or _find(cols, TOTAL_STEPS)
    if not steps:
        return None
    per = _find(cols, STEP_TOKENS)
    if per:
        return Derived("D from steps", pl.col(steps).cast(pl.Float64) * pl.col(per), [per],
                       f"D = {steps} × {per}")
    batch, seq = _find(cols, BATCH), _find(cols, SEQ)
    if not batch or not seq:
        return None
    return Derived("D from steps", pl.col(steps).cast(pl.Float64) * pl.col(batch) * pl.col(seq),
                   [batch, seq], f"D = {steps} × {batch} × {seq}")
