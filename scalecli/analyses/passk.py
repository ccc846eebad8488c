"""pass@k from repeated sampling: the coverage a ``coverage`` law is fitted to.

Of a problem's n samples, c are correct; the unbiased estimate of the chance that k samples
drawn without replacement hold a correct one is (Chen et al. 2021; Brown et al. 2024)::

    pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{j = n-c+1}^{n} (1 - k/j)    (1 if n - c < k)

computed as that product, summed in log space (log1p) from its largest factor down: no binomial coefficient is formed, so
n = 10,000 samples stay exact to rounding. The coverage at k is the mean over problems.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ColumnError, ConfigError, InputError, clip

MOST_SAMPLES = 10**7  # the exact product runs over n factors: 80 MB at this many


def pass_at_k(n, c, k: int):
    """pass@k of each problem (arrays ``n`` samples, ``c`` correct; ``k`` <= every n)."""
    import numpy as np

    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    out = np.ones(n.shape, dtype=float)
    ok = n - c >= k
    for total in np.unique(n[ok]):  # usually one sample count for every problem
        # S[i] = sum_{j = k+1+i}^{total} log1p(-k/j), summed from the top (the small terms of
        # a few correct samples are not lost against the whole sum); the product over
        # j = n-c+1..n is S[n - c - k], and S[total - k] = 0 (no correct sample).
        terms = np.log1p(-k / np.arange(k + 1, total + 1, dtype=float))
        S = np.concatenate([np.cumsum(terms[::-1])[::-1], [0.0]])
        rows = ok & (n == total)
        out[rows] = -np.expm1(S[total - c[rows] - k])
    return out


def default_ks(n_min: int) -> list[int]:
    """1, 2, 4, ... up to the fewest samples any problem has."""
    ks, k = [], 1
    while k <= n_min:
        ks.append(k)
        k *= 2
    return ks


def parse_ks(text: str | None) -> list[int] | None:
    """``1,2,4,8`` -> [1, 2, 4, 8]; None for the default."""
    if text is None:
        return None
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise ConfigError(f"--k {clip(text)!r}: give sample counts >= 1, e.g. 1,2,4,8")
        out.append(int(part))
    return sorted(set(out))


def coverage(path: str | Path, samples: str = "n", correct: str = "c",
             ks: str | list[int] | None = None):
    """The mean pass@k over the problems of a CSV or JSON-lines file (one row per problem:
    ``samples`` and ``correct`` columns) at each k: a Table with ``k``, ``coverage``,
    ``problems``."""
    import numpy as np
    import polars as pl

    from .table import Table

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        frame = (pl.read_ndjson(path) if path.suffix in (".jsonl", ".ndjson")
                 else pl.read_csv(path, infer_schema_length=None))
    except Exception as exc:  # noqa: BLE001 (any parse error of the file, in one line)
        raise InputError(f"{path}: cannot be read as a table: {str(exc).splitlines()[0][:200]}"
                         ) from None
    for col, option in ((samples, "--samples"), (correct, "--correct")):
        if col not in frame.columns:
            raise ColumnError(f"{path}: no column {clip(col)!r} ({option}); columns found: "
                              + ", ".join(clip(c) for c in frame.columns[:12]))
    counts = {}
    for col in (samples, correct):
        values = frame[col].cast(pl.Float64, strict=False)
        bad = (values.is_null() | values.is_nan().fill_null(True) | (values != values.floor())
               | (values < 0))
        if bad.any():
            i = int(bad.arg_true()[0])
            cell = frame[col][i]
            shown = "empty" if cell is None else repr(clip(cell))
            raise InputError(f"{path}:{i + 2}: {col} = {shown} is not a count (a whole number "
                             ">= 0)")
        big = values > MOST_SAMPLES
        if big.any():
            i = int(big.arg_true()[0])
            raise InputError(f"{path}:{i + 2}: {col} = {clip(frame[col][i])!r}: more than "
                             f"{MOST_SAMPLES:,} samples of one problem")
        counts[col] = values.cast(pl.Int64).to_numpy()
    n, c = counts[samples], counts[correct]
    if not n.size:
        raise InputError(f"{path}: no problems (no rows)")
    over = np.nonzero(c > n)[0]
    if over.size:
        i = int(over[0])
        raise InputError(f"{path}:{i + 2}: {correct} = {c[i]} exceeds {samples} = {n[i]}")
    empty = np.nonzero(n == 0)[0]
    if empty.size:
        raise InputError(f"{path}:{int(empty[0]) + 2}: a problem with no samples ({samples} = 0)"
                         ": pass@k needs at least k samples of every problem")
    n_min = int(n.min())
    wanted = parse_ks(ks) if isinstance(ks, (str, type(None))) else sorted(set(ks))
    wanted = wanted or default_ks(n_min)
    if wanted[-1] > n_min:
        i = int(np.argmin(n))
        raise InputError(f"--k {wanted[-1]} exceeds the {n_min} samples of the problem on "
                         f"{path}:{i + 2}: pass@k needs k <= n for every problem")
    rows = [{"k": k, "coverage": float(pass_at_k(n, c, k).mean()), "problems": int(n.size)}
            for k in wanted]
    table = Table(rows, [("k", "k"), ("coverage", "coverage (mean pass@k)"),
                         ("problems", "problems")], f"coverage of {path}")
    table.notes.append(f"pass@k per problem: 1 - C(n-c, k)/C(n, k) from {samples} (n) and "
                       f"{correct} (c); coverage = the mean over {n.size} problems")
    return table
