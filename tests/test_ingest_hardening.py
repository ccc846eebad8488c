"""Hostile inputs to the readers, each through the library (``read_paths``) and the installed
command: a refusal names the file (and line), a skip is a warning that names what was skipped,
and nothing ends in a traceback, a RuntimeWarning, a hang or a memory blow-up (issue 15)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scalecli.errors import InputError, StrictError
from scalecli.ingest import read_paths

FX = Path(__file__).parent / "data" / "fixtures"
PLAIN = (FX / "plain.csv").read_text()
LINES = PLAIN.rstrip("\n").splitlines()
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False
EXE = Path(sys.executable).parent / "scalecli"
CMD = [str(EXE)] if EXE.exists() else [sys.executable, "-c", "from scalecli.cli import main; main()"]


def _limits():  # the memory the command may take (a blow-up fails instead of swapping)
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def cli(*args, cwd=None):
    r = subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, timeout=60,
                       cwd=cwd, preexec_fn=_limits, check=False)
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "RuntimeWarning" not in out, out
    return r


def refused(r, *words):
    """Exit 1 with one 'Error:' line holding every word."""
    assert r.returncode == 1, (r.returncode, r.stderr)
    errors = [x for x in r.stderr.splitlines() if x.startswith("Error")]
    assert len(errors) == 1, r.stderr
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


def warned(r, *words):
    """Exit 0 with a 'warning:' line holding every word."""
    assert r.returncode == 0, (r.returncode, r.stderr)
    lines = [x for x in r.stderr.splitlines() if x.lower().startswith("warning")]
    assert any(all(w in x for w in words) for x in lines), r.stderr
    return lines


def has_warning(frames, *words):
    assert any(all(w in x for w in words) for x in frames.warnings), frames.warnings


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding, newline="")
    return path


# --- directories ------------------------------------------------------------------------------
def test_a_dangling_link_in_a_directory_is_skipped_with_a_warning(tmp_path):
    write(tmp_path / "logs" / "a.csv", PLAIN)
    os.symlink(tmp_path / "logs" / "nowhere.csv", tmp_path / "logs" / "b.csv")
    fr = read_paths([tmp_path / "logs"])
    assert fr.runs.height == 6
    has_warning(fr, "b.csv", "link to nowhere")
    with pytest.raises(StrictError, match="b.csv"):
        read_paths([tmp_path / "logs"], strict=True)
    warned(cli("runs", tmp_path / "logs"), "b.csv", "skipped")
    with pytest.raises(InputError, match="b.csv"):  # named on the command line: an error
        read_paths([tmp_path / "logs" / "b.csv"])
    refused(cli("runs", tmp_path / "logs" / "b.csv"), "b.csv")


def test_a_link_loop_in_a_directory_is_skipped_with_a_warning(tmp_path):
    logs = tmp_path / "logs"
    write(logs / "a.csv", PLAIN)
    os.symlink(logs / "y.csv", logs / "x.csv")
    os.symlink(logs / "x.csv", logs / "y.csv")
    fr = read_paths([logs])
    assert fr.runs.height == 6
    has_warning(fr, "x.csv", "loop")
    has_warning(fr, "y.csv", "loop")
    warned(cli("runs", logs), "x.csv", "loop")
    refused(cli("runs", logs / "x.csv"), "x.csv", "loop")


def test_a_folder_linked_into_itself_is_walked_once(tmp_path):
    logs = tmp_path / "logs"
    write(logs / "sub" / "a.csv", PLAIN)
    os.symlink(logs, logs / "sub" / "up")  # a cycle
    os.symlink(logs / "sub", logs / "again")  # a second way to the same folder
    fr = read_paths([logs])
    assert fr.runs.height == 6 and set(fr.runs["source"]) == {str(logs / "sub" / "a.csv")}
    has_warning(fr, os.path.join("sub", "up"), "cycle")
    has_warning(fr, "again", "already read")
    warned(cli("runs", logs), "up", "cycle")


def test_a_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_paths([tmp_path / "nope.csv"])
    refused(cli("runs", tmp_path / "nope.csv"), "nope.csv")


def test_an_unreadable_file_or_folder_in_a_directory_is_skipped(tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    write(logs / "a.csv", PLAIN)
    write(logs / "locked.csv", PLAIN.replace("gpt-", "other-"))
    write(logs / "closed" / "c.csv", PLAIN.replace("gpt-", "third-"))
    real_access, real_scandir = os.access, os.scandir

    def access(path, mode, *a, **kw):  # as a user without the right would see it (even root)
        return "locked" not in str(path) and real_access(path, mode, *a, **kw)

    def scandir(path="."):
        if str(path).endswith("closed"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "scandir", scandir)
    fr = read_paths([logs])
    assert fr.runs.height == 6
    has_warning(fr, "locked.csv", "cannot be read")
    has_warning(fr, "closed", "cannot be read")
    with pytest.raises(StrictError, match="closed|locked"):
        read_paths([logs], strict=True)
    with pytest.raises(InputError, match="locked.csv: cannot be read"):
        read_paths([logs / "locked.csv"])


@pytest.mark.skipif(ROOT, reason="root reads files whatever their mode")
def test_unreadable_entries_through_the_command(tmp_path):
    logs = tmp_path / "logs"
    write(logs / "a.csv", PLAIN)
    locked = write(logs / "locked.csv", PLAIN)
    closed = logs / "closed"
    write(closed / "c.csv", PLAIN)
    locked.chmod(0)
    closed.chmod(0)
    try:
        r = cli("runs", logs)
        warned(r, "locked.csv")
        warned(r, "closed")
        refused(cli("runs", locked), "locked.csv")
    finally:
        locked.chmod(0o644)
        closed.chmod(0o755)


# --- JSON nesting -----------------------------------------------------------------------------
def test_json_nested_1000_deep_on_the_only_line_is_refused(tmp_path):
    deep = write(tmp_path / "deep1.jsonl", "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(InputError, match="deep1.jsonl.*nested deeper"):
        read_paths([deep])
    refused(cli("runs", deep), "deep1.jsonl", "nested deeper")
    obj = write(tmp_path / "deep3.jsonl", '{"a":' * 5000 + "1" + "}" * 5000 + "\n")
    with pytest.raises(InputError, match="deep3.jsonl"):
        read_paths([obj])
    refused(cli("runs", obj), "deep3.jsonl")


def test_a_deep_line_after_a_good_one_is_skipped_naming_it(tmp_path):
    good = '{"run":"a","n_params":1e7,"tokens":1e9,"loss":3.0}\n'
    deep = write(tmp_path / "deep2.jsonl", good + '{"a":' * 1000 + "1" + "}" * 1000 + "\n")
    fr = read_paths([deep])
    assert fr.runs.height == 1
    has_warning(fr, "deep2.jsonl", "line 2", "nested deeper")
    warned(cli("runs", deep), "deep2.jsonl", "line 2")


def test_a_deep_line_far_down_a_large_file_is_skipped_naming_it(tmp_path):
    rows = [json.dumps({"run": f"r{i % 5}", "n_params": 1e7 * (1 + i % 5), "tokens": 1e6 * i,
                        "step": i, "loss": 5 - i / 1000}) for i in range(1, 401)]
    rows[299] = json.dumps({"run": "r9", "cfg": {"a": 1}})[:-1] + ', "x": ' + (
        '{"a":' * 3000 + "1" + "}" * 3000) + "}"
    path = write(tmp_path / "late.jsonl", "\n".join(rows) + "\n")
    fr = read_paths([path])
    assert fr.runs.height == 5
    has_warning(fr, "late.jsonl", "line 300", "nested deeper")
    warned(cli("runs", path), "late.jsonl", "line 300")


# --- keys given twice -------------------------------------------------------------------------
def test_a_json_key_given_twice_is_refused_naming_line_and_key(tmp_path):
    text = "".join(
        json.dumps({"run": f"r{i}", "n_params": 5, "tokens": 1e9 * (i + 1), "loss": 3.0 - 0.1 * i})
        .replace('"n_params": 5', f'"n_params": 5, "n_params": {10 ** (7 + i % 3)}') + "\n"
        for i in range(9))
    path = write(tmp_path / "dupkeys.jsonl", text)
    with pytest.raises(InputError, match=r"dupkeys.jsonl:1: key 'n_params' is given twice"):
        read_paths([path])
    refused(cli("fit", path), "dupkeys.jsonl:1", "n_params", "twice")


def test_a_key_given_twice_far_down_is_found_by_the_fast_path(tmp_path):
    rows = [json.dumps({"run": f"r{i % 4}", "n_params": 1e7 * (1 + i % 4), "tokens": 1e6 * i,
                        "step": i, "loss": 5 - i / 1000}) for i in range(1, 2001)]
    rows[1499] = rows[1499].replace('"loss":', '"loss": 1.0, "loss":')
    path = write(tmp_path / "late.jsonl", "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"late.jsonl:1500: key 'loss' is given twice"):
        read_paths([path])
    refused(cli("runs", path), "late.jsonl:1500", "twice")


def test_explicit_nulls_are_not_taken_for_repeated_keys(tmp_path):
    rows = [json.dumps({"run": f"r{i % 3}", "n_params": 1e7 * (1 + i % 3), "tokens": 1e6 * i,
                        "eval": None if i % 7 else 2.0, "loss": 5 - i / 1000})
            for i in range(1, 301)]
    fr = read_paths([write(tmp_path / "nulls.jsonl", "\n".join(rows) + "\n")])
    assert fr.runs.height == 3 and not fr.warnings


def test_a_nested_key_that_collides_with_a_flat_one_is_refused(tmp_path):
    path = write(tmp_path / "clash.jsonl",
                 '{"run": "a", "n_params": 1e7, "tokens": 1e9, "loss": 3, "m": {"x": 1}, '
                 '"m/x": 2}\n')
    with pytest.raises(InputError, match="m/x"):
        read_paths([path])


# --- CSV rows ---------------------------------------------------------------------------------
def test_unquoted_decimal_commas_are_refused_naming_the_line(tmp_path):
    rows = [LINES[0]] + [x.rsplit(",", 1)[0] + "," + x.rsplit(",", 1)[1].replace(".", ",")
                         for x in LINES[1:]]
    path = write(tmp_path / "comma.csv", "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"comma.csv:2: has 6 fields where the header has 5"):
        read_paths([path])
    refused(cli("fit", path), "comma.csv:2", "fields")


def test_a_row_short_of_fields_is_refused_too(tmp_path):
    rows = LINES[:]
    rows[7] = rows[7].rsplit(",", 1)[0]
    path = write(tmp_path / "short.csv", "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"short.csv:8: has 4 fields where the header has 5"):
        read_paths([path])
    refused(cli("runs", path), "short.csv:8")


def test_an_empty_last_field_is_not_a_short_row(tmp_path):
    rows = [LINES[0] + ",note"] + [x + "," for x in LINES[1:]]
    fr = read_paths([write(tmp_path / "trailing.csv", "\n".join(rows) + "\n")])
    assert fr.runs.height == 6


# --- losses, steps ----------------------------------------------------------------------------
@pytest.mark.parametrize("final", ["0", "-0.5"])
def test_a_final_loss_that_is_not_positive_is_refused_naming_the_line(tmp_path, final):
    rows = LINES[:-1] + [LINES[-1].rsplit(",", 1)[0] + "," + final]
    path = write(tmp_path / "zero.csv", "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=rf"zero.csv:{len(rows)}: run 'gpt-3B': final loss"):
        read_paths([path])
    err = refused(cli("fit", path), "zero.csv", f":{len(rows)}:")
    assert "must be positive" in err


def test_a_zero_loss_before_the_final_step_is_read(tmp_path):
    rows = LINES[:]
    rows[1] = rows[1].rsplit(",", 1)[0] + ",0"
    fr = read_paths([write(tmp_path / "early.csv", "\n".join(rows) + "\n")])
    assert fr.runs.height == 6


def test_a_zero_final_loss_in_one_row_per_run_names_its_line(tmp_path):
    text = "run,n_params,tokens,loss\na,1e7,1e9,3.1\nb,3e7,1e9,0\nc,1e8,1e9,2.5\n"
    with pytest.raises(InputError, match=r"runs.csv:3: run 'b': final loss is 0"):
        read_paths([write(tmp_path / "runs.csv", text)])


def test_a_step_beyond_64_bits_is_refused_naming_the_line(tmp_path):
    hist = (FX / "wandb_api_history.jsonl").read_text().splitlines()
    row = json.loads(hist[3])
    row["_step"] = 2 ** 70
    path = write(tmp_path / "hist.jsonl", "\n".join(hist[:3] + [json.dumps(row)] + hist[4:]) + "\n")
    with pytest.raises(InputError, match=r"hist.jsonl:4: step 1180591620717411303424"):
        read_paths([path, FX / "wandb_api_runs.jsonl"])
    refused(cli("runs", path, FX / "wandb_api_runs.jsonl"), "hist.jsonl:4", "64 bits")
    csv = write(tmp_path / "steps.csv", LINES[0] + "\n" + "\n".join(
        x.replace(",8,", f",{10 ** 25},") for x in LINES[1:]) + "\n")
    with pytest.raises(InputError, match=r"steps.csv:2: step"):
        read_paths([csv])


def test_an_all_empty_column_named_like_a_loss_is_read(tmp_path):
    rows = [LINES[0] + ",loss2"] + [x + "," for x in LINES[1:]]
    path = write(tmp_path / "allnull.csv", "\n".join(rows) + "\n")
    fr = read_paths([path])
    assert fr.runs.height == 6 and fr.runs["loss2"].null_count() == 6
    text = write(tmp_path / "text.csv", "\n".join(
        [LINES[0] + ",loss_fn"] + [x + ",huber" for x in LINES[1:]]) + "\n")
    assert read_paths([text]).runs["loss_fn"].to_list() == ["huber"] * 6
    assert cli("runs", path).returncode == 0


# --- text encodings ---------------------------------------------------------------------------
def _latin_sweep() -> str:
    rows = ["run,n_params,tokens,loss"]
    for k, (n, t) in enumerate(((1e7, 1e9), (3e7, 4e9), (1e8, 1.6e10))):
        rows += [f"gpt\u00e9-{k},{n:.0f},{t:.0f},{3 - k / 10:.6f}",
                 f"gpt\u00e8-{k},{n:.0f},{t * 2:.0f},{2.9 - k / 10:.6f}"]
    return "\n".join(rows) + "\n"


def test_latin_1_names_keep_their_accents(tmp_path):
    path = write(tmp_path / "latin.csv", _latin_sweep(), encoding="latin-1")
    fr = read_paths([path])
    assert sorted(fr.runs["name"]) == sorted(
        f"gpt{a}-{k}" for a in "\u00e9\u00e8" for k in range(3))
    has_warning(fr, "latin.csv", "not UTF-8", "Windows-1252")
    with pytest.raises(StrictError, match="latin.csv"):
        read_paths([path], strict=True)
    r = warned(cli("runs", path, "--format", "json"), "latin.csv", "not UTF-8")
    assert len(json.loads(cli("runs", path, "--format", "json").stdout)) == 6, r
    jl = "".join(json.dumps({"run": n, "n_params": 1e7 * (i + 1), "tokens": 1e9, "loss": 3},
                            ensure_ascii=False) + "\n"
                 for i, n in enumerate(("gpt\u00e9-0", "gpt\u00e8-0")))
    fr = read_paths([write(tmp_path / "latin.jsonl", jl, encoding="latin-1")])
    assert sorted(fr.runs["name"]) == ["gpt\u00e8-0", "gpt\u00e9-0"]
    has_warning(fr, "latin.jsonl", "not UTF-8")


def test_utf16_with_a_byte_order_mark_is_read_as_such(tmp_path):
    path = write(tmp_path / "wide.csv", _latin_sweep(), encoding="utf-16")
    fr = read_paths([path])
    assert fr.runs.height == 6 and "gpt\u00e9-0" in fr.runs["name"].to_list()
    assert not fr.warnings
    jl = write(tmp_path / "wide.jsonl", (FX / "plain.jsonl").read_text(), encoding="utf-16")
    assert read_paths([jl]).runs.height == 6


# --- W&B runs dumps ---------------------------------------------------------------------------
@pytest.mark.parametrize("part, value", [("summary", 7), ("config", [1, 2]), ("summary", "x")])
def test_a_wandb_run_whose_summary_or_config_is_not_an_object_is_skipped(tmp_path, part, value):
    lines = (FX / "wandb_api_runs.jsonl").read_text().splitlines()
    bad = json.loads(lines[-1])
    bad[part] = value
    wb = tmp_path / "wb"
    write(wb / "runs.jsonl", "\n".join(lines[:-1] + [json.dumps(bad)]) + "\n")
    fr = read_paths([wb])
    assert fr.runs.height == 5
    has_warning(fr, "runs.jsonl", f"line {len(lines)}", bad["name"], part)
    with pytest.raises(StrictError, match=part):
        read_paths([wb], strict=True)
    warned(cli("runs", wb), "runs.jsonl", f"line {len(lines)}", part)


# --- runs counted twice -----------------------------------------------------------------------
def test_two_copies_of_one_log_count_once(tmp_path):
    write(tmp_path / "twins" / "a.csv", PLAIN)
    write(tmp_path / "twins" / "b.csv", PLAIN)
    fr = read_paths([tmp_path / "twins"])
    assert fr.runs.height == 6
    has_warning(fr, "b.csv", "a.csv", "same content")
    warned(cli("runs", tmp_path / "twins"), "b.csv", "a.csv")
    one = tmp_path / "twins" / "a.csv"
    fr = read_paths([one, one])
    assert fr.runs.height == 6
    has_warning(fr, "a.csv", "given twice")
    warned(cli("runs", one, one), "given twice")


def test_the_same_runs_in_two_formats_count_once_and_a_shared_name_is_said(tmp_path):
    fr = read_paths([FX / "plain.csv", FX / "plain.jsonl"])
    assert fr.runs.height == 6
    has_warning(fr, "plain.jsonl", "plain.csv", "counted once")
    warned(cli("runs", FX / "plain.csv", FX / "plain.jsonl"), "counted once")
    other = write(tmp_path / "rerun.csv", "\n".join(
        LINES[:-1] + [LINES[-1].rsplit(",", 1)[0] + ",2.0"]) + "\n")
    fr = read_paths([FX / "plain.csv", other])
    assert fr.runs.height == 7  # five the same, gpt-3B differs: kept twice, and said
    has_warning(fr, "gpt-3B", "different values")
    with pytest.raises(StrictError):
        read_paths([FX / "plain.csv", other], strict=True)


def test_a_copied_directory_given_with_the_original_counts_once(tmp_path):
    write(tmp_path / "a" / "plain.csv", PLAIN)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    fr = read_paths([tmp_path / "a", tmp_path / "b"])
    assert fr.runs.height == 6
    has_warning(fr, "same content")


# --- what one file may claim ------------------------------------------------------------------
def _row(i: int, **extra) -> str:
    return json.dumps({"run": f"r{i % 4}", "n_params": 1e7 * (1 + i % 4), "tokens": 1e6 * i,
                       "step": i, "loss": 5 - i / 1e4, **extra})


def test_a_new_key_on_every_line_is_refused_quickly(tmp_path):
    path = write(tmp_path / "sparse.jsonl",
                 "".join(_row(i, **{f"k{i}": 1}) + "\n" for i in range(1, 6001)))
    with pytest.raises(InputError, match="sparse.jsonl: .*(different keys|too sparse)"):
        read_paths([path])
    refused(cli("runs", path), "sparse.jsonl")


def test_late_and_rare_keys_are_read(tmp_path):
    rows = [_row(i, **({"eval_loss": 4 - i / 1e4} if i % 500 == 0 else {}))
            for i in range(1, 4001)]
    rows[2222] = _row(2223, rare=7.0)  # one line nowhere near the sampled places, maybe
    fr = read_paths([write(tmp_path / "late.jsonl", "\n".join(rows) + "\n")])
    assert fr.runs.height == 4 and not fr.warnings
    assert fr.history.filter(fr.history["metric"] == "eval_loss").height == 8
    assert "rare" in fr.runs.columns


def test_nesting_between_the_fast_and_the_hard_limit_is_read(tmp_path):
    nested = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1.5}}}}}}}}}
    path = write(tmp_path / "nested.jsonl",
                 "".join(_row(i, cfg=nested) + "\n" for i in range(1, 201)))
    fr = read_paths([path])
    assert fr.runs["cfg/a/b/c/d/e/f/g/h/i"].to_list() == [1.5] * 4
