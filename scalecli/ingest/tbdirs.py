"""Which TensorBoard event files make one run, and what the run is called.

TensorBoard's own rule: a run is a folder of ``events.out.tfevents.*`` files, named by its path
relative to the log directory given (``logs/exp1/lr3e-4`` read as ``logs`` is run
``exp1/lr3e-4``). A run restarted in the same folder leaves a second event file there: it is the
same run, so the folder (not each file) is one source. ``torch.utils.tensorboard``'s
``add_hparams`` writes the hparams into a sub-folder named by ``time.time()``
(``run/1718000000.123/``): those files belong to the folder above when it is a run itself.

No heavy import here: the directory walk uses it before any reader is loaded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PREFIX = "events.out.tfevents."
READER = "tensorboard"
HPARAMS_DIR = re.compile(r"^\d{9,}\.\d+$")  # str(time.time()), torch's add_hparams folder

# run folder (as the walk gave it) -> its name relative to the directory the user gave. The
# readers' signature carries a path and its display text, not the walk's root; the walk that
# found a run records its name here, and a folder or file read without a walk is named by its
# folder (see run_name).
NAMES: dict[str, str] = {}


def is_events(name: str) -> bool:
    return name.startswith(PREFIX)


def _stamp(path: Path) -> tuple[int, str]:
    """``events.out.tfevents.<unix time>.<host>...``: files of one run in the order written."""
    head = path.name[len(PREFIX):].split(".", 1)[0]
    return (int(head) if head.isdigit() else 0, path.name)


def _events_in(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as it:
            files = [Path(e.path) for e in it if is_events(e.name) and e.is_file()]
    except OSError:
        return []
    return sorted(files, key=_stamp)


def _hparams_dirs(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as it:
            return sorted(Path(e.path) for e in it if e.is_dir() and HPARAMS_DIR.match(e.name))
    except OSError:
        return []


def members(path: Path) -> list[Path]:
    """The event files of a run, oldest first, the hparams sub-folders' last: a later file wins
    a step logged twice. A file given by name is its own run."""
    if not path.is_dir():
        return [path]
    files = _events_in(path)
    for sub in _hparams_dirs(path):
        files += _events_in(sub)
    return files


def run_name(path: Path) -> str:
    """The name the walk recorded, else the run folder's own name (a file's: its folder's)."""
    name = NAMES.get(str(path))
    if name:
        return name
    folder = path if path.is_dir() else path.parent
    return folder.name or folder.resolve().name or str(folder)


def group(found: list, root: Path, root_display: str) -> list:
    """Event files found under ``root`` become one entry per run folder (path, display,
    "tensorboard"), in the place of the folder's first file; other entries stay as they are.
    Files in an hparams sub-folder of a run join that run."""
    out, runs = [], set()
    top = root_display.rstrip(os.sep) or root_display
    for path, display, reader in found:
        if reader != READER:
            out.append((path, display, reader))
            continue
        folder, label = path.parent, os.path.dirname(display)
        if HPARAMS_DIR.match(folder.name) and folder != root and _events_in(folder.parent):
            folder, label = folder.parent, os.path.dirname(label)
        if folder in runs:
            continue
        runs.add(folder)
        rel = os.path.relpath(label, top) if label != top else "."
        NAMES[str(folder)] = (root.resolve().name or str(root)) if rel == "." else rel
        out.append((folder, label, READER))
    return out
