"""Child side of a hook call: note the project files a backend hook reads, then run pyproject_hooks' script.

Executed by path with the build environment's interpreter:

    python -I -B -u _hook_runner.py REQUEST.json IN_PROCESS_SCRIPT HOOK CONTROL_DIR

The last three arguments are the command pyproject_hooks asked its runner to start
(incrinstall/backends/runner.py puts us in front of it). REQUEST.json names the project,
whether to record, folders that never count and where to write the report:
{"opened": [...]} and, when the hook raised, {"error": ..., "where": "relpath:line"}.
Standard library only; it must never import incrinstall.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback


class _Recorder:
    """Collects the paths under `root` that are opened for reading (audit event "open")."""

    def __init__(self, root: str, exclude: list[str]):
        self.root = os.path.join(os.path.realpath(root), "")
        self.exclude = [os.path.join(os.path.realpath(p), "") for p in exclude]
        self.seen: set[str] = set()
        self.active = False

    def __call__(self, event: str, args: tuple) -> None:
        if event != "open" or not self.active:
            return
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):  # a file descriptor or None
            return
        if not _reads(mode, flags):
            return
        # Stop recording while we inspect the path: realpath itself must not recurse into us.
        self.active = False
        try:
            self._note(path)
        finally:
            self.active = True

    def _note(self, path: str) -> None:
        full = os.path.realpath(os.path.abspath(path))
        if not full.startswith(self.root) or any(full.startswith(e) for e in self.exclude):
            return
        rel = full[len(self.root):]
        parts = rel.split(os.sep)
        if "__pycache__" in parts:
            # A cached .pyc stands for its source file: record the source, never the cache.
            if not rel.endswith(".pyc") or len(parts) < 2:
                return
            stem = parts[-1].split(".", 1)[0]
            rel = os.sep.join(parts[:-2] + [stem + ".py"])
        elif rel.endswith(".pyc"):
            return
        self.seen.add(rel.replace(os.sep, "/"))


def _reads(mode, flags) -> bool:
    if isinstance(mode, str):
        return "r" in mode or "+" in mode
    if isinstance(flags, int):
        return (flags & getattr(os, "O_ACCMODE", 3)) in (os.O_RDONLY, os.O_RDWR)
    return True


def _blame(root: str, exc: BaseException) -> str | None:
    """The innermost traceback frame inside the project, as "relpath:line"."""
    root = os.path.join(os.path.realpath(root), "")
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        full = os.path.realpath(frame.filename)
        if full.startswith(root):
            found = f"{full[len(root):].replace(os.sep, '/')}:{frame.lineno}"
    return found


def _print_from_backend(exc: BaseException, script: str) -> None:
    """Print the traceback without our frames, runpy's and pyproject_hooks' script: the output tail is short."""
    plumbing = {os.path.realpath(p) for p in (__file__, script, runpy.__file__)}
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        name = tb.tb_frame.f_code.co_filename
        if not (name.startswith("<frozen runpy") or os.path.realpath(name) in plumbing):
            break
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def main(argv: list[str]) -> int:
    request_path, script, control_dir = argv[1], argv[2], argv[4]
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    report: dict = {}
    recorder = None
    if req.get("record_files"):
        # pyproject_hooks' script and its control folder are the frontend's files, never the project's.
        exclude = [sys.prefix, os.path.dirname(script), control_dir, *req.get("exclude", [])]
        recorder = _Recorder(req["project_dir"], exclude)
        sys.addaudithook(recorder)
    sys.argv = argv[2:]  # what the script expects: [itself, hook, control_dir]
    code = 0
    try:
        if recorder is not None:
            recorder.active = True
        runpy.run_path(script, run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - the backend may raise anything, even SystemExit
        _print_from_backend(exc, script)
        report = {"error": f"{type(exc).__name__}: {exc}", "where": _blame(req["project_dir"], exc)}
        code = 1
    finally:
        if recorder is not None:
            recorder.active = False
            report["opened"] = sorted(recorder.seen)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(req["report_path"], "w", encoding="utf-8") as f:
        json.dump(report, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
