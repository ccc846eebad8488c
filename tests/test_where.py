"""--where: the whitelist parser (precedence, not, in, parentheses, units, strings), hostile
text refused without eval, positions in errors, and filters on the bundled sample sweep
selecting exactly the runs its truth file says they should."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from scalecli.cli import app
from scalecli.errors import ConfigError, InputError, ScaleCLIError
from scalecli.where import parse

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_runs"
TRUTH = json.loads((SAMPLE / "truth.json").read_text())["runs"]

FRAME = pl.DataFrame({
    "a": [1.0, 1.0, 0.0, 0.0, None, 2.0],
    "b": [1.0, 0.0, 1.0, 0.0, 1.0, 1.0],
    "c": [0.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    "name": ["x", "y", "z", "it's", None, "x"],
    "n": [125e6, 1e9, 1.5e9, 2.5e9, 1.4e12, 7e9],
    "ok": [True, False, True, False, True, None],
})


def keeps(text: str, frame=FRAME) -> list[bool]:
    return parse(text).mask(frame)


def rows(frame=FRAME) -> list[dict]:
    return frame.to_dicts()


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def truth_names(test) -> list[str]:
    return sorted(r["name"] for r in TRUTH if test(r))


def runs_names(*args) -> list[str]:
    r = invoke("runs", SAMPLE, *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return sorted(row["name"] for row in json.loads(r.stdout))


# ---- the parser -------------------------------------------------------------------------
def test_and_binds_tighter_than_or_and_parentheses_regroup():
    plain = [(r["a"] == 1) or ((r["b"] == 1) and (r["c"] == 1)) for r in rows()]
    grouped = [((r["a"] == 1) or (r["b"] == 1)) and (r["c"] == 1) for r in rows()]
    assert plain != grouped  # the frame tells the two readings apart
    assert keeps("a == 1 or b == 1 and c == 1") == plain
    assert keeps("(a == 1 or b == 1) and c == 1") == grouped


def test_not_binds_tighter_than_and_and_a_missing_value_compares_false():
    # row 4 has no a: "a == 1" is false there, so "not a == 1" is true
    want = [r["a"] != 1 and r["b"] == 1 for r in rows()]
    assert keeps("not a == 1 and b == 1") == want
    assert keeps("a > 0") == [True, True, False, False, False, True]
    assert keeps("a != 0") == [True, True, False, False, False, True]
    assert keeps("not a > 0") == [False, False, True, True, True, False]


def test_in_and_not_in_take_brackets_or_parentheses_and_units():
    assert keeps("n in [125M, 1.5B, 1.4T]") == [True, False, True, False, True, False]
    assert keeps("n not in (125M, 1.5B, 1.4T)") == [False, True, False, True, False, True]
    assert keeps("name in ['x', \"it's\"]") == [True, False, False, True, False, True]
    assert keeps("name not in ['x']") == [False, True, True, True, False, False]
    assert keeps("n in []") == [False] * 6


def test_numbers_with_unit_suffixes_and_either_side_of_the_column():
    assert keeps("n >= 1.5B and n < 7e9") == [False, False, True, True, False, False]
    assert keeps("2.5B <= n") == keeps("n >= 2.5e9") == [False, False, False, True, True, True]
    assert keeps("n > 1_000M") == [False, False, True, True, True, True]
    assert keeps("a > -1 and a < +1.5") == [True, True, True, True, False, False]


def test_strings_booleans_and_odd_column_names():
    assert keeps("name == 'it\\'s'") == [False, False, False, True, False, False]
    assert keeps('name == "x"') == [True, False, False, False, False, True]
    assert keeps("ok == true") == [True, False, True, False, True, False]
    assert keeps("ok != true") == [False, True, False, True, False, False]
    odd = pl.DataFrame({"model/n_params": [1e6, 1e9], "lr max": [0.1, 0.2]})
    assert keeps("model/n_params >= 1B", odd) == [False, True]
    assert keeps("`lr max` < 0.15", odd) == [True, False]


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch /tmp/pwned')",
    "open('/etc/passwd').read() == 'x'",
    "a.__class__ == 1",
    "().__class__.__bases__[0]",
    "a == 1; import os",
    "lambda: 1",
    "a == (1 if True else 2)",
    "[x for x in a]",
    "a == 1 + 1",
    "eval('1') == 1",
])
def test_hostile_text_is_refused_and_nothing_is_evaluated(text, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the filter reached eval/exec/compile")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    with pytest.raises(ScaleCLIError):
        parse(text).mask(FRAME)


@pytest.mark.parametrize(("text", "position", "message"), [
    ("n >= ", 6, "expected a value after '>=', found the end"),
    ("n >= 5Q", 6, "'Q' is not a unit suffix"),
    ("(a == 1", 8, "expected ')' to close the '(' at position 1"),
    ("a = 1", 3, "compare with =="),
    ("a == 1 b == 2", 8, "expected 'and', 'or' or the end, found 'b'"),
    ("a == 1 and", 11, "expected a column or a value, found the end"),
    ("name == 'x", 9, "the quote ' is never closed"),
    ("a in 1", 6, "expected a list after 'in'"),
    ("a not 1", 7, "expected 'in' after 'not'"),
    ("1 < 2", 1, "needs a column on one side"),
    ("", 1, "the filter is empty"),
])
def test_a_syntax_error_names_its_position_with_a_caret(text, position, message):
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert f"position {position}" in str(info.value) and message in str(info.value)
    assert "\n" not in str(info.value)
    line, caret = info.value.caret.splitlines()
    assert line == text and caret == " " * (position - 1) + "^"


def test_an_unknown_column_names_the_nearest_ones_and_type_mistakes_say_what_to_write():
    with pytest.raises(InputError, match=r"no column 'nmae'; did you mean name\?"):
        keeps("nmae == 'x'")
    with pytest.raises(InputError, match="holds text: quote the value"):
        keeps("name == 5")
    with pytest.raises(InputError, match="holds numbers: write the value without quotes"):
        keeps("n == '5'")
    with pytest.raises(InputError, match="holds text: compare it with == or !="):
        keeps("name > 'a'")


# ---- a property: the evaluator against plain Python --------------------------------------
SMALL = pl.DataFrame({"a": [0.0, 1.0, None, 3.0, 2.0], "b": [1.0, 1.0, 2.0, None, 0.0],
                      "s": ["p", None, "q", "p", "r"]})
OPS = {"==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
       "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


def _atoms():
    num = st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(list(OPS)),
                    st.sampled_from([0, 1, 2, 3, 2.5]))
    text = st.tuples(st.just("s"), st.sampled_from(["==", "!="]), st.sampled_from(["p", "q"]))
    member = st.tuples(st.sampled_from(["a", "s"]), st.sampled_from(["in", "not in"]),
                       st.just(None))

    def build(t):
        col, op, value = t
        if op in ("in", "not in"):
            values = [0, 3] if col == "a" else ["p", "r"]
            shown = ", ".join(repr(v) for v in values)

            def test(row):
                x = row[col]
                return x is not None and ((x in values) == (op == "in"))
            return f"{col} {op} [{shown}]", test
        shown = repr(value)

        def test(row):
            x = row[col]
            return x is not None and OPS[op](x, value)
        return f"{col} {op} {shown}", test

    return st.one_of(num, text, member).map(build)


def _expressions():
    def extend(children):
        def combine(t):
            kind, left, right = t
            if kind == "not":
                return f"not ({left[0]})", lambda r: not left[1](r)
            if kind == "and":
                return f"({left[0]}) and ({right[0]})", lambda r: left[1](r) and right[1](r)
            return f"{left[0]} or {right[0]}", lambda r: left[1](r) or right[1](r)
        return st.tuples(st.sampled_from(["not", "and", "or"]), children, children).map(combine)
    return st.recursive(_atoms(), extend, max_leaves=8)


@given(_expressions())
def test_the_filter_agrees_with_python_on_random_expressions(expr):
    text, test = expr
    assert parse(text).mask(SMALL) == [test(r) for r in SMALL.to_dicts()], text


# ---- on real runs -------------------------------------------------------------------------
def test_filters_select_exactly_the_runs_the_truth_file_names():
    want = truth_names(lambda r: r["n_params"] >= 1e8 and r["final_tokens"] < 5e9)
    assert len(want) == 7
    assert runs_names("--where", "n_params >= 100M and tokens < 5B") == want
    want = truth_names(lambda r: r["file"] == "wandb" or r["tokens_per_param"] == 5)
    assert runs_names("--where", "dataset == 'synthetic-web' or name in ['gpt-20M-5tpp', "
                      "'gpt-50M-5tpp', 'gpt-120M-5tpp', 'gpt-300M-5tpp']") == want
    # two --where options must both hold; roles N and C stand for n_params and flops
    want = truth_names(lambda r: r["n_params"] <= 3e8 and r["flops"] > 1e18)
    assert runs_names("--where", "N <= 300M", "--where", "C > 1e18") == want
    want = truth_names(lambda r: not (r["n_params"] < 1e8 or r["tokens_per_param"] == 40))
    assert runs_names("--where", "not (N < 100M or name in ['gpt-120M-40tpp', "
                      "'gpt-300M-40tpp', 'gpt-700M-40tpp', 'gpt-1.5B-40tpp'])") == want


def test_a_filter_that_keeps_nothing_names_the_clause_that_emptied_it():
    r = invoke("fit", SAMPLE, "--where", "n_params >= 100B and dataset == 'synthetic-web'")
    assert r.exit_code == 1
    assert r.stderr.strip() == ("Error: --where: n_params >= 100B keeps no run (of 24); "
                                "dataset == 'synthetic-web' alone keeps 8")
    r = invoke("runs", SAMPLE, "--where", "N < 50M and D > 5e10")
    assert r.exit_code == 1
    assert r.stderr.strip() == ("Error: --where: its clauses together keep no run (of 24); "
                                "N < 50M alone keeps 4; D > 5e10 alone keeps 1")
    r = invoke("runs", SAMPLE, "--include-run", "gpt-20M-*", "--where", "N > 1B")
    assert r.exit_code == 1 and "none of the 4 --include-run/--exclude-run kept" in r.stderr
    r = invoke("runs", SAMPLE, "--where", "N >= 1.5B and")
    assert r.exit_code == 1 and "position 14 (end of filter)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_fit_records_the_selection_and_fits_only_the_kept_runs(tmp_path):
    out = tmp_path / "fit.json"
    r = invoke("fit", SAMPLE, "--where", "N >= 50M", "--exclude-run", "*-40tpp", "--save", out)
    assert r.exit_code == 0, r.stderr
    saved = json.loads(out.read_text())
    assert saved["n_runs"] == len(truth_names(
        lambda r: r["n_params"] >= 5e7 and r["tokens_per_param"] != 40)) == 15
    assert saved["data"]["selection"] == {"include": [], "exclude": ["*-40tpp"],
                                          "where": ["N >= 50M"]}
    assert "15 of 24 kept" in r.stderr


def test_every_command_that_reads_runs_takes_where():
    r = invoke("backtest", SAMPLE, "--where", "N < 1B", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert not any(p["run"].startswith("gpt-1.5B") for p in json.loads(r.stdout)["predictions"])
    for command in ("frontier", "plot"):
        r = invoke(command, SAMPLE, "--where", "N >= 50M", *(["--no-color"] * (command == "plot")))
        assert r.exit_code == 0 and "20 of 24 kept" in r.stderr, (command, r.stderr)
    iso = ROOT / "examples" / "isoflop.csv"
    r = invoke("isoflop", iso, "--where", "C > 1e18", "--format", "json")
    assert r.exit_code == 0, r.stderr
    budgets = [b["flops"] for b in json.loads(r.stdout)["budgets"]]
    assert budgets and min(budgets) > 1e18 and "54 of 63 kept" in r.stderr


def test_compare_selects_in_every_group(tmp_path):
    from conftest import TRUE, synthetic_sweep

    lines = ["run,arch,n_params,tokens,loss"]
    for arch, shift in (("dense", 0.0), ("moe", -0.05)):
        N, D, L = synthetic_sweep(seed=3, params={**TRUE, "E": TRUE["E"] + shift})
        lines += [f"{arch}-{i},{arch},{float(n)!r},{float(d)!r},{float(l)!r}" for i, (n, d, l) in
                  enumerate(zip(N, D, L))]
    data = tmp_path / "arch.csv"
    data.write_text("\n".join(lines) + "\n")
    r = invoke("compare", data, "--group-by", "arch", "--where", "N >= 50M",
               "--exclude-run", "moe-2?", "--format", "json")
    assert r.exit_code == 0, r.stderr
    groups = json.loads(r.stdout)["groups"]
    N = synthetic_sweep(seed=3)[0]
    kept = [i for i, n in enumerate(N) if n >= 5e7]
    assert groups["dense"]["n_runs"] == len(kept) == 25
    assert groups["moe"]["n_runs"] == len([i for i in kept if not 20 <= i <= 29]) == 15


def test_a_yaml_config_selects_and_the_command_line_adds_to_it(tmp_path):
    config = tmp_path / "law.yaml"
    config.write_text("law: {name: chinchilla}\n"
                      "select:\n  where: \"N >= 50M\"\n  exclude_run: ['*-40tpp']\n")
    out = tmp_path / "fit.json"
    r = invoke("fit", SAMPLE, "--config", config, "--where", "D < 20B", "--save", out)
    assert r.exit_code == 0, r.stderr
    saved = json.loads(out.read_text())
    want = truth_names(lambda t: t["n_params"] >= 5e7 and t["tokens_per_param"] != 40
                       and t["final_tokens"] < 2e10)
    assert saved["n_runs"] == len(want) == 14
    assert saved["data"]["selection"] == {"include": [], "exclude": ["*-40tpp"],
                                          "where": ["N >= 50M", "D < 20B"]}
    config.write_text("law: {name: chinchilla}\nselect: {where: 'N >= '}\n")
    r = invoke("fit", SAMPLE, "--config", config)
    assert r.exit_code == 1 and "select: --where" in r.stderr and "position" in r.stderr
    config.write_text("law: {name: chinchilla}\nselect: {wher: 'N > 1'}\n")
    r = invoke("fit", SAMPLE, "--config", config)
    assert r.exit_code == 1 and "wher" in r.stderr


def test_a_column_no_run_has_a_value_for_compares_false():
    empty = pl.DataFrame({"a": [None, None], "b": [1.0, 2.0]})
    assert keeps("a > 1 or b == 2", empty) == [False, True]
    assert keeps("not a == 'x'", empty) == [True, True]
    assert keeps("a in [1, 'x'] or a == b", empty) == [False, False]
