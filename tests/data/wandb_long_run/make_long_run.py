"""A real wandb offline run whose log spans several 32 KiB blocks (records split across them).

Written with wandb 0.31.0: ``python make_long_run.py out`` (offline; nothing is synced).
"""

import os
import sys

os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
import wandb

out = sys.argv[1]
run = wandb.init(project="scalecli-tests", id="mblk0001", name="gpt-tiny-long", dir=out,
                 config={"n_params": 5_000_000, "n_layers": 4, "d_model": 256,
                         "note": "x" * 33000,  # one record longer than a block
                         "optim": {"name": "adamw", "betas": [0.9, 0.95]}},
                 settings=wandb.Settings(x_disable_stats=True, console="off", save_code=False,
                                         disable_git=True))
for i in range(1, 121):
    step = 10 * i
    run.log({"train/loss": 2.0 + 100.0 / step, "tokens": step * 65536,
             "val": {"loss": 2.1 + 100.0 / step}, "phase": "warmup" if i < 20 else "main"},
            step=step)
run.summary["eval/loss"] = 2.125
run.finish()
