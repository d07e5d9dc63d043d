"""Run one PEP 517/660 backend hook inside a build environment and report its result as JSON.

This file is executed by path with the build environment's interpreter
(`python -I -B _hook_runner.py REQUEST.json`); it must only use the standard
library and must never import incrinstall. The request names the backend, the
hook, its arguments and where to write the answer. With `record_files`, an
audit hook notes every file under the project that is opened for reading
while the backend runs, so the caller knows which files decide the result.
"""

from __future__ import annotations

import json
import os
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


def _load_backend(spec: str):
    module_name, _, attrs = spec.partition(":")
    obj = __import__(module_name, fromlist=["_"])
    for attr in filter(None, attrs.split(".")):
        obj = getattr(obj, attr)
    return obj


def _blame(root: str, exc: BaseException) -> str | None:
    """The innermost traceback frame inside the project, as "relpath:line"."""
    root = os.path.join(os.path.realpath(root), "")
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        full = os.path.realpath(frame.filename)
        if full.startswith(root):
            found = f"{full[len(root):].replace(os.sep, '/')}:{frame.lineno}"
    return found


def main(request_path: str) -> int:
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    project_dir = req["project_dir"]
    os.chdir(project_dir)
    # PEP 517 in-tree backends: backend-path entries come first on sys.path.
    for entry in reversed(req.get("backend_path") or []):
        sys.path.insert(0, os.path.join(project_dir, entry))

    recorder = None
    if req.get("record_files"):
        recorder = _Recorder(project_dir, [sys.prefix, *req.get("exclude", [])])
        sys.addaudithook(recorder)
        recorder.active = True

    answer: dict = {"ok": False}
    try:
        backend = _load_backend(req["backend"])
        hook = getattr(backend, req["hook"], None)
        if hook is None:
            answer = {"ok": False, "missing": True}
        else:
            result = hook(*req.get("args", []), config_settings=req.get("config_settings"))
            answer = {"ok": True, "result": result}
    except BaseException as exc:  # noqa: BLE001 - the backend may raise anything, even SystemExit
        traceback.print_exc()
        answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "where": _blame(project_dir, exc)}
    finally:
        if recorder is not None:
            recorder.active = False
            answer["opened"] = sorted(recorder.seen)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(req["result_path"], "w", encoding="utf-8") as f:
        json.dump(answer, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
