"""Child side of a hook call: note what a backend hook looks at in the project, then run pyproject_hooks' script.

Executed by path with the build environment's interpreter:

    python -I -B -u _hook_runner.py REQUEST.json IN_PROCESS_SCRIPT HOOK CONTROL_DIR

The last three arguments are the command pyproject_hooks asked its runner to start
(incrinstall/backends/runner.py puts us in front of it). REQUEST.json names the project,
whether to record, folders that never count and where to write the report:
{"opened": [...], "listed": [...], "vcs": [...]} and, when the hook raised,
{"error": ..., "where": "relpath:line"}. What is recorded, from audit events:
- "opened": files under the project opened for reading (`open`);
- "listed": folders under the project listed (`os.listdir`, `os.scandir`, `glob.glob`), "." for the
  root, whether or not they exist (a probe of a missing folder counts);
- "vcs": the version-control tools the hook started (`subprocess.Popen`, `os.system`: git, hg), whose
  answer depends on repository state no `open` shows.
A `stat` (os.path.exists) raises no audit event: the caller keys on the names in the folders of
the files opened as well. Standard library only; it must never import incrinstall.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback


_LISTING_EVENTS = ("os.listdir", "os.scandir")
_SPAWN_EVENTS = ("subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec")
_VCS_TOOLS = ("git", "hg")
_SHELLS = ("sh", "bash", "dash", "zsh", "cmd", "cmd.exe")


class _Recorder:
    """Collects what a hook looks at under `root`: files opened for reading, folders listed, VCS tools run."""

    def __init__(self, root: str, exclude: list[str]):
        self.root = os.path.join(os.path.realpath(root), "")
        self.exclude = [os.path.join(os.path.realpath(p), "") for p in exclude]
        self.seen: set[str] = set()
        self.listed: set[str] = set()
        self.vcs: set[str] = set()
        self.active = False

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or not (event == "open" or event in _LISTING_EVENTS or event.startswith("glob.glob")
                                   or event in _SPAWN_EVENTS):
            return
        # Stop recording while we inspect the event: realpath itself must not recurse into us.
        self.active = False
        try:
            if event == "open":
                path, mode, flags = (tuple(args) + (None, None, None))[:3]
                if _reads(mode, flags):
                    self._note(path)
            elif event in _LISTING_EVENTS:
                self._note_folder(args[0] if args else None)
            elif event.startswith("glob.glob"):
                # The literal folder the pattern starts from (its root_dir in glob.glob/2); the
                # os.scandir events glob makes name the rest.
                pattern = args[0] if args else None
                root_dir = args[2] if event == "glob.glob/2" and len(args) > 2 else None
                if isinstance(pattern, (str, bytes)):
                    base = _literal_base(os.fsdecode(pattern))
                    if isinstance(root_dir, (str, bytes)):
                        base = os.path.join(os.fsdecode(root_dir), base)
                    self._note_folder(base)
            else:
                tool = _vcs_tool(event, args)
                if tool is not None:
                    self.vcs.add(tool)
        finally:
            self.active = True

    def _relative(self, path: object) -> str | None:
        """`path` relative to the root ("/" separators, "" for the root itself); None outside it or excluded."""
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if path is None:
            path = "."
        if not isinstance(path, str):  # a file descriptor
            return None
        full = os.path.realpath(os.path.abspath(path))
        if os.path.join(full, "") == self.root:
            return ""
        if not full.startswith(self.root) or any(os.path.join(full, "").startswith(e) for e in self.exclude):
            return None
        return full[len(self.root):]

    def _note_folder(self, path: object) -> None:
        rel = self._relative(path)
        if rel is None or "__pycache__" in rel.split(os.sep):
            return
        self.listed.add(rel.replace(os.sep, "/") or ".")

    def _note(self, path: object) -> None:
        if path is None:
            return
        rel = self._relative(path)
        if not rel:
            return
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


def _literal_base(pattern: str) -> str:
    """The folder a glob pattern starts listing from: its parts before the first wildcard."""
    parts = pattern.replace(os.sep, "/").split("/")
    literal = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        literal.append(part)
    return "/".join(literal) or "."


def _vcs_tool(event: str, args: tuple[object, ...]) -> str | None:
    """"git" or "hg" when the process being started is one, directly or as a shell command's first word."""
    if event == "os.system":
        command = os.fsdecode(args[0]) if args and isinstance(args[0], (str, bytes)) else ""
        return _vcs_of(command.split()[:1])
    if event == "os.spawn":
        args = args[1:]  # (mode, path, args, env)
    program = args[0] if args else None
    given = args[1] if len(args) > 1 else None
    argv: list[object] = []
    if isinstance(given, (str, bytes)):
        argv = list(os.fsdecode(given).split())
    elif isinstance(given, (list, tuple)):
        argv = list(given)
    words = [os.fsdecode(w) for w in [program, *argv] if isinstance(w, (str, bytes, os.PathLike))]
    if words and _program(words[0]) in _SHELLS and "-c" in words:  # sh -c "git describe --tags"
        after = words.index("-c") + 1
        return _vcs_of(words[after].split()[:1] if after < len(words) else [])
    return _vcs_of(words[:2])


def _vcs_of(words: list[str]) -> str | None:
    for word in words:
        name = _program(word)
        if name in _VCS_TOOLS:
            return name
    return None


def _program(word: str) -> str:
    name = os.path.basename(word).lower()
    return name[:-4] if name.endswith(".exe") else name


def _reads(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return "r" in mode or "+" in mode
    if isinstance(flags, int):
        return (flags & getattr(os, "O_ACCMODE", 3)) in (os.O_RDONLY, os.O_RDWR)
    return True


def _blame(root: str, exc: BaseException) -> str | None:
    """The innermost traceback frame inside the project, as "relpath:line".

    Code without a file ("<string>", "<frozen ...>") is no project file, except setup.py as
    setuptools runs it: build_meta's run_setup() exec()s its text, so its frames say "<string>".
    """
    root = os.path.join(os.path.realpath(root), "")
    found = None
    caller = None
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = frame.filename
        if filename == "<string>" and caller is not None and caller.name == "run_setup" \
                and caller.filename.replace(os.sep, "/").endswith("setuptools/build_meta.py"):
            filename = os.path.join(root, "setup.py")
        caller = frame
        if not os.path.isfile(filename):
            continue
        full = os.path.realpath(filename)
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
    report: dict[str, object] = {}
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
            report["listed"] = sorted(recorder.listed)
            report["vcs"] = sorted(recorder.vcs)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(req["report_path"], "w", encoding="utf-8") as f:
        json.dump(report, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
