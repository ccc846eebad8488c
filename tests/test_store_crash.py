"""Ingests killed with SIGKILL at random moments leave the store as it was before or after, and
the next ingest succeeds and leaves no orphan; concurrent ingests and reads lose nothing and
fail no read. The trials are ``benchmarks/store_reliability.py``'s, fewer of them."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from pathlib import Path

import pytest

if os.name != "posix":
    pytest.skip("SIGKILL trials need POSIX signals", allow_module_level=True)

_path = Path(__file__).resolve().parent.parent / "benchmarks" / "store_reliability.py"
_spec = importlib.util.spec_from_file_location("store_reliability", _path)
trials = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("store_reliability", trials)
_spec.loader.exec_module(trials)


def test_twenty_ingests_killed_at_random_moments(tmp_path):
    stats = trials.kill_trials(20, tmp_path, random.Random(1234))
    assert stats["trials"] == 20 and stats["first"] == 5
    assert stats["before"] + stats["after"] == 20


def test_concurrent_ingests_and_reads(tmp_path):
    reads = 0
    for _ in range(3):
        reads += trials.concurrent_trial(tmp_path)["reads"]
    assert reads > 0
