"""Run `python -m incrinstall ARGS` but stall at one chosen file operation, so a test can SIGKILL it exactly there.

`python -m tests.support.pause_driver sync ...` with
    PAUSE_AT="replace:METADATA:1:before"   (operation : file name : which occurrence : before | after)
    PAUSE_MARK=/path/of/a/mark/file
runs the real CLI; when the given occurrence of `os.replace(_, dst)` (or `os.unlink(path)`) with that
file name comes, it writes PAUSE_MARK (before or after doing the operation for real) and sleeps until
it is killed. Nothing else changes: every write still goes through incrinstall's own code.

What incrinstall does in-process (the editable METADATA/RECORD refresh, the state writes) takes
microseconds between two writes: no timed kill lands there reliably, a pause does.
"""

from __future__ import annotations

import os
import runpy
import sys
import time


def main() -> None:
    op, name, nth, when = os.environ["PAUSE_AT"].split(":")
    mark = os.environ["PAUSE_MARK"]
    real = getattr(os, op)
    seen = 0

    def stall() -> None:
        with open(mark, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)

    def paused(*args, **kwargs):
        nonlocal seen
        target = args[1] if op == "replace" else args[0]
        if os.path.basename(os.fspath(target)) != name:
            return real(*args, **kwargs)
        seen += 1
        if seen != int(nth):
            return real(*args, **kwargs)
        if when == "before":
            stall()
        result = real(*args, **kwargs)
        stall()
        return result

    setattr(os, op, paused)
    sys.argv = ["incrinstall", *sys.argv[1:]]
    runpy.run_module("incrinstall", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
