"""A terminal heat map of a prediction grid: rows N, columns D, each cell the predicted value
printed (so it reads without colour) on a background from blue (lowest) to red (highest)."""

from __future__ import annotations

from .format import fmt

MAX_COLUMNS = 16  # more D values than this do not fit a terminal's width
MAX_ROWS = 200


def heatmap_view(table, wanted: bool | None, fmt_name: str, color: bool
                 ) -> tuple[str, list[str]]:
    """``(text, notes)``: the heat map of ``table``'s grid when ``wanted`` (None: in table
    format, when both axes have more than one value), else ``""``; notes say why not."""
    grid = getattr(table, "grid", None)
    two_d = grid is not None and len(grid.axes) == 2 and all(len(v) > 1 for _, v in grid.axes)
    if wanted is None:
        wanted = fmt_name == "table" and two_d
    if not wanted:
        return "", []
    if fmt_name != "table":
        return "", [(f"--heatmap is drawn in table format only; --format {fmt_name} gives "
                    "the rows")]
    if grid is None:
        return "", ["--heatmap needs a grid: --n and/or --tokens"]
    *rest, (_, cols) = grid.axes
    n_rows = len(rest[0][1]) if rest else 1
    if len(cols) > MAX_COLUMNS or n_rows > MAX_ROWS:
        return "", [(f"heat map not drawn: the grid is {n_rows} × {len(cols)}, at most "
                    f"{MAX_ROWS} × {MAX_COLUMNS} fit a terminal (the table has every cell)")]
    return heatmap(table, color=color), []


def heatmap(table, *, color: bool = False) -> str:
    """The grid of ``table`` (a :class:`~scalecli.analyses.grid.PredictionTable`) as a
    matrix: the first axis down, the second across (one row for a one-axis grid)."""
    from rich.console import Console
    from rich.table import Table

    grid = table.grid
    *rest, (col_sym, cols) = grid.axes
    row_sym, row_vals = rest[0] if rest else ("", [None])
    cells = table.rows[grid.start:grid.start + grid.size]
    values = [c["prediction"] for c in cells]
    target = next((head for key, head in table.columns if key == "prediction"), "value")
    lo, hi = min(values), max(values)
    out = Table(title=None, show_lines=False)
    out.add_column(f"{row_sym} \\ {col_sym}" if row_sym else col_sym, justify="right",
                   style="bold")
    for c in cols:
        out.add_column(fmt(c), justify="right")
    for i, r in enumerate(row_vals):
        row = values[i * len(cols):(i + 1) * len(cols)]
        out.add_row(fmt(r) if r is not None else target, *(
            f"[{_style(v, lo, hi)}]{fmt(v)}[/]" if color else fmt(v) for v in row))
    console = Console(file=_Sink(), width=10_000, highlight=False, force_terminal=color,
                      color_system="256" if color else None, soft_wrap=False)
    with console.capture() as cap:
        rows_text = f"rows {row_sym}, " if row_sym else ""
        console.print(f"heat map of predicted {target}: {rows_text}columns {col_sym}",
                      style="bold" if color else None)
        console.print(out)
        console.print(f"lowest {fmt(lo)}, highest {fmt(hi)}"
                      + ("; colour from blue (lowest) to red (highest)" if color else ""))
    return cap.get()


# blue -> white -> red, 256-colour codes readable with black text
_SCALE = (39, 75, 117, 153, 195, 230, 223, 216, 209, 203)


def _style(v: float, lo: float, hi: float) -> str:
    t = 0.0 if hi == lo else (v - lo) / (hi - lo)
    code = _SCALE[min(len(_SCALE) - 1, int(t * len(_SCALE)))]
    return f"black on color({code})"


class _Sink:
    def write(self, s):
        return len(s)

    def flush(self):
        pass
