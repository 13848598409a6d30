"""python syncdebug.py OVERRIDES...: run the runner with torch's sync debug mode, one stack per synchronising line."""

import atexit
import collections
import runpy
import sys
import traceback
import warnings

import torch

seen = collections.Counter()


def show(message, category, filename, lineno, file=None, line=None):
    key = f"{filename}:{lineno}"
    seen[key] += 1
    if seen[key] == 1 and "synchroniz" in str(message):
        print(f"SYNC at {key}: {message}", file=sys.stderr)
        traceback.print_stack(limit=16, file=sys.stderr)


warnings.showwarning = show
warnings.simplefilter("always")
torch.cuda.set_sync_debug_mode("warn")
atexit.register(lambda: print("SYNC COUNTS", dict(seen), file=sys.stderr))
sys.argv = ["runner", *sys.argv[1:]]
runpy.run_module("runner", run_name="__main__", alter_sys=True)
