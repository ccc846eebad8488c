"""Tables drawn without rich (scalecli.report.plain) are byte for byte what rich draws."""

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from scalecli.report import plain
from scalecli.report.tables import rich_table

# ASCII, one-cell characters the project prints (·, †, ‡, ≈, ±, α, ⁻), and characters rich
# treats specially: markup "[", emoji codes ":name:", wide and combining characters, controls.
ALPHABET = st.sampled_from(list("abcXYZ019 .,-+=()/%e") + list("·†‡≈±α⁻é")
                           + ["[", "]", ":", "中", "\u0301", "\t", "\n", "\x1b"])
SAFE = st.sampled_from(list("abcXYZ019 .,-+=()/%e") + list("·†‡≈±α⁻é"))


def _rich(cells, headers, right, title, caption, width):
    return rich_table(cells, headers, right, title, caption, width, terminal=False)


@st.composite
def tables(draw, alphabet):
    text = st.text(alphabet, min_size=0, max_size=30)
    n_cols = draw(st.integers(1, 5))
    headers = draw(st.lists(text.filter(bool), min_size=n_cols, max_size=n_cols))
    rows = draw(st.lists(st.lists(text, min_size=n_cols, max_size=n_cols), min_size=1,
                         max_size=6))
    right = draw(st.lists(st.booleans(), min_size=n_cols, max_size=n_cols))
    title = draw(st.none() | st.text(alphabet, min_size=1, max_size=140))
    caption = draw(st.none() | st.text(alphabet, min_size=1, max_size=240))
    width = draw(st.integers(20, 130))
    return rows, headers, right, title, caption, width


@settings(max_examples=300, deadline=None)
@given(tables(ALPHABET))
def test_plain_tables_are_what_rich_draws(t):
    text = plain.table(*t)
    if text is not None:
        assert text == _rich(*t)


@settings(max_examples=300, deadline=None)
@given(tables(SAFE))
def test_plain_text_is_drawn_without_rich_when_it_fits(t):
    rows, headers, _, title, caption, width = t
    text = plain.table(*t)
    widest = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    trimmed = all(c == c.strip() for c in [*headers, *(c for r in rows for c in r)])
    fits = trimmed and 0 not in widest and sum(widest) + 3 * len(widest) + 1 <= width
    words = " ".join(x for x in (title, caption) if x).split()
    blank = any(x is not None and not x.strip() for x in (title, caption))
    if fits and all(len(w) <= width for w in words) and not blank:
        assert text is not None
    if text is not None:
        assert text == _rich(*t)


def test_every_character_taken_as_narrow_is_one_cell_for_rich():
    from rich.cells import cell_len

    narrow = [chr(cp) for cp in range(0x80, 0x30000) if plain._narrow(chr(cp))]
    assert len(narrow) > 3000  # Latin, Greek, Cyrillic, punctuation, arrows, maths
    assert [c for c in narrow if cell_len(c) != 1] == []


def test_a_typical_table_is_drawn_plainly_and_identically():
    headers = ["C (FLOPs)", "N opt", "D opt", "D/N", "loss"]
    rows = [["1e21", "1.824e9", "9.136e10", "50.08", "2.329"],
            ["1e22", "5.7e9†", "2.9e11", "51.0", "2.2"]]
    caption = ("parameters: published: Hoffmann et al. 2022 approach 3 (E=1.69, A=406.4, "
               "B=410.7, alpha=0.34, beta=0.28); closed form · C = 6·N·D")
    for width in (60, 72, 100):
        t = (rows, headers, [True] * 5, "compute-optimal allocation", caption, width)
        text = plain.table(*t)
        assert text is not None
        assert text == _rich(*t)
        assert max(len(line) for line in text.splitlines()) <= width


def test_what_rich_would_treat_specially_is_left_to_rich():
    base = ([["1"]], ["n"], [True], None, None, 80)
    assert plain.table(*base) is not None
    assert plain.table([["[bold]x"]], ["n"], [False], None, None, 80) is None  # markup
    assert plain.table([["a :smile: b"]], ["n"], [False], None, None, 80) is None  # emoji
    assert plain.table([["中"]], ["n"], [False], None, None, 80) is None  # two cells wide
    assert plain.table([["x" * 90]], ["n"], [False], None, None, 80) is None  # too wide
    assert plain.table([["1"]], ["n"], [True], "y" * 81, None, 80) is None  # a long word


def test_optimal_piped_does_not_import_rich():
    code = ("import sys; sys.argv = ['scalecli', 'optimal', '--flops', '1e21']\n"
            "from scalecli.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('rich loaded: %s' % ('rich' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert "1.824e9" in out.stdout  # Chinchilla's N_opt at 1e21 (Hoffmann et al. approach 3)
    assert out.stderr.strip().endswith("rich loaded: False")


def test_a_blank_title_or_caption_is_drawn_as_rich_draws_it():
    for title, caption in ((None, " "), (" ", None), ("  ", "a ")):
        t = ([["x"]], ["h"], [False], title, caption, 40)
        text = plain.table(*t)
        assert text is None or text == _rich(*t)
