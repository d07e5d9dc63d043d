"""Hypothesis strategies for spec files, and the property every reader must keep: parse, or refuse clearly.

Shared by tests/specs/test_fuzz_specs.py (a small fixed number of examples) and benchmarks/fuzz_specs.py
(thousands). Each strategy draws a `Case`: the files of a project tree (bytes) and a Selection.
`check(case)` writes the tree into a temporary folder, runs the readers through `collect()` and returns
"parsed" or "refused" ("refused at a line"); a refusal must be a SpecError whose `where` names one of the case's files (with
`:line` where the problem has a line). Anything else raised is a crash, and propagates.

The strategies mix three kinds of input per reader:
- random text (and bytes that are not UTF-8);
- structured documents that are valid TOML / YAML but put odd types and odd requirement strings where
  the readers expect lists of requirement strings (dependencies, optional-dependencies, dependency-groups,
  [tool.incrinstall], [tool.uv.workspace]; provider.yaml's dependencies, extras, versions, state);
- those documents, or hand-shaped ones (comments, multi-line arrays, dotted keys, inline tables, YAML
  anchors, flow style, several documents), with a few characters inserted, deleted or lines doubled.
Requirement strings carry odd names, extras, specifiers, markers (including comparisons no marker
evaluation defines), URLs, and for pip-format files: -r/-c includes (cycles, missing files, a dead
loopback URL), -e paths, options, line continuations, comments, CRLF, a BOM.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from incrinstall.specs.model import Selection

# --- requirement strings -------------------------------------------------------------------------------

_NAMES = ["foo", "Foo_Bar", "a.b-c", "x", "pkg2", "ünï", "1abc", "-bad", "bad-", "a b", "pkg[", "na@me", "",
          "apache-airflow-providers-http", "myproj"]
_EXTRAS = ["", "[a]", "[a,b]", "[A_B]", "[", "[]", "[a,,b]", "[ a ]", "[a b]", "[-x]", "[a]]"]
_OPS = ["==", "!=", "<", "<=", ">", ">=", "~=", "===", "=", "=>", ""]
_VERSIONS = ["1", "1.0", "1.0.*", "2.0a1", "1!2.0", "1.0.post1.dev2", "abc", "", "1.0+local", "0.0.0.0.1", " 1 "]
_MARKER_VARS = ["python_version", "python_full_version", "os_name", "sys_platform", "platform_release",
                "implementation_name", "extra", "platform_machine", "platform_python_implementation",
                "implementation_version", "platform_system", "platform_version", "bogus_var"]
_MARKER_OPS = ["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in", "=", "is"]
_MARKER_VALUES = ['"3.8"', '"3"', '"x"', '"1.0.post1"', '""', "'posix'", '"win32"', '"a b"', "3.8", '"3.*"',
                  '"linux"', '"CPython"', '"test"', '"a"', "'3.10'"]
_URLS = ["https://example.invalid/x-1.0-py3-none-any.whl", "git+https://example.invalid/r.git@v1",
         "file:///tmp/x-1.0.tar.gz", "", "http://", "./local", "https://h/x.whl#sha256=00", "ftp://h/x.zip",
         "https://user:pw@example.invalid/x.whl"]

names = st.one_of(st.sampled_from(_NAMES), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True))


@st.composite
def specifiers(draw) -> str:
    parts = draw(st.lists(st.tuples(st.sampled_from(_OPS), st.sampled_from(_VERSIONS)), max_size=3))
    text = ",".join(op + v for op, v in parts)
    return draw(st.sampled_from(["", " ", "(", "("])) + text + (")" if text and draw(st.booleans()) else "")


_atoms = st.builds(lambda var, op, val, flip: f"{val} {op} {var}" if flip else f"{var} {op} {val}",
                   st.sampled_from(_MARKER_VARS), st.sampled_from(_MARKER_OPS), st.sampled_from(_MARKER_VALUES),
                   st.booleans())
markers = st.recursive(_atoms, lambda inner: st.one_of(
    inner.map(lambda m: f"({m})"),
    st.tuples(inner, st.sampled_from([" and ", " or ", " ", " and", "and "]), inner).map("".join)), max_leaves=4)


_valid_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}([._-][A-Za-z0-9]{1,4})?", fullmatch=True)
_valid_specifiers = st.lists(st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="]),
                                       st.sampled_from(["1.0", "2.1", "1.0.post1", "3.0a1", "10.2"])),
                             max_size=2).map(lambda parts: ",".join(op + v for op, v in parts))
_valid_markers = st.builds(lambda var, op, val: f'{var} {op} "{val}"',
                           st.sampled_from(["python_version", "sys_platform", "os_name", "platform_system", "extra"]),
                           st.sampled_from(["==", "!=", "<", ">="]), st.sampled_from(["3.8", "linux", "posix", "x"]))


@st.composite
def valid_requirements(draw) -> str:
    """A requirement string packaging parses, and whose marker (if any) every environment can evaluate."""
    text = draw(_valid_names) + draw(st.sampled_from(["", "[a]", "[a,b]"])) + draw(_valid_specifiers)
    if draw(st.booleans()):
        text += "; " + draw(_valid_markers)
    return text


@st.composite
def requirements(draw) -> str:
    """A PEP 508 requirement string: valid half the time, else nearly so, or any short text."""
    kind = draw(st.integers(0, 19))
    if kind < 10:
        return draw(valid_requirements())
    if kind == 10:
        return draw(st.text(max_size=30))
    text = draw(names) + draw(st.sampled_from(_EXTRAS))
    url = draw(st.sampled_from(_URLS)) if draw(st.integers(0, 5)) == 0 else None
    text += f" @ {url}" if url is not None else draw(specifiers())
    if draw(st.booleans()):
        text += (" ; " if url is not None else draw(st.sampled_from(["; ", ";", " ; "]))) + draw(markers)
    return text


# --- a case: files and a selection ---------------------------------------------------------------------

@dataclass
class Case:
    files: dict[str, bytes]  # relpath -> content
    selection: Selection = field(default_factory=Selection)
    hook: dict | None = None  # what the build backend answers when dependencies are dynamic (see check())

    def __repr__(self) -> str:  # what a crash report shows: readable text, not bytes
        shown = {k: v.decode("utf-8", "backslashreplace") for k, v in self.files.items()}
        return f"Case(files={shown!r}, selection={self.selection!r}, hook={self.hook!r})"


def _encode(text: str, draw) -> bytes:
    """Text as a file: usually UTF-8, sometimes with CRLF, a BOM, or a byte that is not UTF-8."""
    if draw(st.integers(0, 6)) == 0:
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8", "surrogatepass")
    kind = draw(st.integers(0, 12))
    if kind == 0:
        data = b"\xef\xbb\xbf" + data
    elif kind == 1:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xff\xfe" + data[at:]
    return data


@st.composite
def mutated(draw, text: str) -> str:
    """`text` with a few characters inserted or deleted, a line doubled or dropped, or cut short."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 4))
        at = draw(st.integers(0, len(text)))
        if op == 0:
            text = text[:at] + draw(st.sampled_from(['"', "'", "[", "]", "{", "}", "=", "\n", "\\", "#", ",", ":", "-",
                                                    " ", "\t", "&", "*", "!", "\x00", "\u2028"])) + text[at:]
        elif op == 1 and text:
            text = text[:at] + text[at + 1:]
        elif op == 2 and text:
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "".join(lines)
        elif op == 3 and text:
            lines = text.splitlines(keepends=True)
            del lines[draw(st.integers(0, len(lines) - 1))]
            text = "".join(lines)
        else:
            text = text[:at]
    return text


# --- pyproject.toml ------------------------------------------------------------------------------------

_odd_scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=8), st.dates())
_odd = st.recursive(_odd_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=5)
_group_names = st.sampled_from(["dev", "Test_Group", "docs", "ci", "x"])
_extra_names = st.sampled_from(["fast", "Slow_Mode", "all", "x", "a"])


@st.composite
def _requirement_lists(draw):
    """Lists of requirement strings: all valid half the time (so that documents also parse), else odder."""
    kind = draw(st.integers(0, 7))
    if kind < 4:
        return draw(st.lists(valid_requirements(), max_size=5))
    if kind < 6:
        return draw(st.lists(requirements(), max_size=4))
    if kind == 6:
        return draw(st.lists(st.one_of(requirements(), _odd), max_size=4))
    return draw(_odd)


@st.composite
def _group_entries(draw):
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 5))
        if kind <= 2:
            entries.append(draw(requirements()))
        elif kind == 3:
            entries.append({"include-group": draw(_group_names)})
        else:
            entries.append(draw(st.one_of(_odd, st.just({"include-group": 1}), st.just({"include-group": "dev",
                                                                                        "x": "y"}))))
    return entries if draw(st.integers(0, 8)) else draw(_odd)


@st.composite
def _sometimes_odd(draw, strategy, odds: int = 6):
    """`strategy`, or (one time in `odds`) a value of an odd type."""
    return draw(_odd) if draw(st.integers(1, odds)) == 1 else draw(strategy)


@st.composite
def pyproject_documents(draw) -> dict:
    """A pyproject.toml as data: mostly the right shape, with odd types and odd strings where lists are wanted."""
    doc: dict = {}
    if draw(st.integers(0, 9)):
        project: dict = {}
        if draw(st.integers(0, 9)):
            project["name"] = draw(st.one_of(names, _odd)) if draw(st.integers(0, 5)) == 0 else "myproj"
        if draw(st.booleans()):
            project["version"] = draw(st.one_of(st.sampled_from(["0.1", "1.0", "x"]), _odd))
        if draw(st.integers(0, 4)) == 0:
            project["dynamic"] = draw(_sometimes_odd(
                st.lists(st.sampled_from(["dependencies", "optional-dependencies", "version", "readme"]),
                         max_size=3, unique=True)))
        if draw(st.integers(0, 5)):
            project["dependencies"] = draw(_requirement_lists())
        if draw(st.booleans()):
            project["optional-dependencies"] = draw(_sometimes_odd(
                st.dictionaries(_extra_names, _requirement_lists(), max_size=3)))
        doc["project"] = project if draw(st.integers(0, 12)) else draw(_odd)
    if draw(st.booleans()):
        doc["dependency-groups"] = draw(_sometimes_odd(st.dictionaries(_group_names, _group_entries(), max_size=3)))
    tool: dict = {}
    if draw(st.integers(0, 3)) == 0:
        tool["incrinstall"] = draw(st.one_of(
            st.fixed_dictionaries({"spec-files": st.one_of(
                st.lists(st.sampled_from(["*.json", "**/*.txt", "deps/*.toml", "../outside/*", "[", "*"]),
                         max_size=3), _odd)}), _odd))
    if draw(st.integers(0, 4)) == 0:
        tool["uv"] = {"workspace": draw(st.one_of(
            st.fixed_dictionaries({"members": st.one_of(st.lists(st.sampled_from(["packages/*", "*", ".", "nope/*",
                                                                                  "packages/a"]), max_size=2), _odd)},
                                  optional={"exclude": st.lists(st.sampled_from(["packages/b", "*"]), max_size=1)}),
            _odd))}
    if tool:
        doc["tool"] = tool
    return doc


def _toml(doc: dict) -> str:
    import tomli_w

    return tomli_w.dumps(doc)


def _toml_string(text: str, draw) -> str:
    if "'" not in text and "\n" not in text and draw(st.booleans()):
        return f"'{text}'"
    return json.dumps(text)  # a JSON string is a TOML basic string (for what json.dumps escapes)


@st.composite
def pyproject_shapes(draw) -> str:
    """Valid TOML written by hand the ways people do: comments, multi-line arrays, dotted keys, inline tables."""
    deps = [_toml_string(r, draw) for r in draw(st.lists(requirements(), max_size=4))]
    style = draw(st.integers(0, 3))
    if style == 0:
        items = "".join(f"    {d},  # why\n" for d in deps)
        return f'[project]\nname = "myproj"\nversion = "0.1"\n# the deps\ndependencies = [\n{items}]\n'
    if style == 1:
        return f'project.name = "myproj"\nproject.dependencies = [{", ".join(deps)}]\n'
    if style == 2:
        return f'project = {{ name = "myproj", dependencies = [{", ".join(deps)}] }}\n'
    groups = "".join(f'g{i} = [{d}, {{ include-group = "g{i + 1}" }}]\n' for i, d in enumerate(deps))
    return f'[project]\nname = "myproj"\n\n[dependency-groups]\n{groups}'


def _selection(draw, *, groups: bool) -> Selection:
    return Selection(
        extras=tuple(draw(st.lists(_extra_names, max_size=2))) if draw(st.integers(0, 3)) == 0 else (),
        all_extras=draw(st.booleans()),
        groups=tuple(draw(st.lists(st.one_of(_group_names, st.just("g0")), max_size=2)))
        if groups and draw(st.integers(0, 2)) == 0 else (),
    )


def _spec_text(draw, document: Callable[[], str], shape: Callable[[], str]) -> str:
    """Any text (1 in 10), a valid document (5 in 10), a hand-made shape (2 in 10), or one of those mutated."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=200))
    if kind <= 5:
        return document()
    if kind <= 7:
        return shape()
    return draw(mutated(document() if draw(st.booleans()) else shape()))


@st.composite
def pyproject_cases(draw) -> Case:
    text = _spec_text(draw, lambda: _toml(draw(pyproject_documents())), lambda: draw(pyproject_shapes()))
    files = {"pyproject.toml": _encode(text, draw)}
    if draw(st.integers(0, 4)) == 0:  # a workspace member, for [tool.uv.workspace] members globs
        member = draw(st.one_of(st.just({"project": {"name": "member-a", "dependencies": ["x"]}}),
                                pyproject_documents()))
        files["packages/a/pyproject.toml"] = _toml(member).encode()
    hook = None
    if b"dynamic" in files["pyproject.toml"]:
        hook = {"requires_dist": draw(st.lists(requirements(), max_size=3)),
                "provides_extra": draw(st.lists(_extra_names, max_size=2)),
                "version": draw(st.sampled_from(["", "1.0", "x"]))}
    return Case(files, _selection(draw, groups=True), hook)


# --- provider.yaml -------------------------------------------------------------------------------------

@st.composite
def provider_documents(draw) -> dict:
    doc: dict = {}
    if draw(st.integers(0, 9)):
        doc["package-name"] = draw(st.one_of(st.just("apache-airflow-providers-http"), names, _odd))
    if draw(st.booleans()):
        doc["versions"] = draw(st.one_of(st.lists(st.sampled_from(["1.0.0", "2.1", "3.10", "x"]), max_size=3), _odd))
    if draw(st.integers(0, 5)):
        doc["dependencies"] = draw(_requirement_lists())
    if draw(st.integers(0, 3)) == 0:
        doc["devel-dependencies"] = draw(_requirement_lists())
    if draw(st.integers(0, 2)) == 0:
        doc["additional-extras"] = draw(st.one_of(st.lists(st.one_of(
            st.fixed_dictionaries({"name": st.one_of(_extra_names, _odd), "dependencies": _requirement_lists()}),
            _odd), max_size=3), _odd))
    if draw(st.integers(0, 3)) == 0:
        doc["state"] = draw(st.one_of(st.sampled_from(["ready", "suspended", "removed", "not-ready"]), _odd))
    if draw(st.integers(0, 5)) == 0:
        doc["suspended"] = draw(st.one_of(st.booleans(), _odd))
    if draw(st.integers(0, 4)) == 0:
        doc["excluded-python-versions"] = draw(st.one_of(st.lists(st.sampled_from(["3.8", "3.11", "3.12", "x"]),
                                                                  max_size=2), _odd))
    return doc


def _yaml(doc, draw) -> str:
    import yaml

    return yaml.safe_dump(doc, default_flow_style=draw(st.sampled_from([False, True, None])), allow_unicode=True)


@st.composite
def provider_shapes(draw) -> str:
    """YAML as it is written by hand, and the odd corners of YAML: anchors, tags, flow style, several documents."""
    reqs = draw(st.lists(requirements(), max_size=3))
    items = "".join(f"  - {json.dumps(r)}\n" for r in reqs)
    style = draw(st.integers(0, 6))
    head = "package-name: apache-airflow-providers-http\nversions:\n  - 1.0.0\n"
    if style == 0:
        return f"{head}dependencies:\n{items}"
    if style == 1:
        return f"{head}dependencies: &deps\n{items}additional-extras:\n  - name: x\n    dependencies: *deps\n"
    if style == 2:
        return f"{head}dependencies: [{', '.join(json.dumps(r) for r in reqs)}]\n"
    if style == 3:
        return f"{head}dependencies:\n{items}---\npackage-name: other\n"
    if style == 4:
        return f"{head}dependencies: !!python/object:os.system\n{items}"
    if style == 5:
        return f"{head}dependencies:\n  - &a [*a]\n"  # an alias to itself
    return f"{head}dependencies:\n  - {{name: {draw(names)}}}\n  - ? complex\n    : key\n"


@st.composite
def provider_cases(draw) -> Case:
    text = _spec_text(draw, lambda: _yaml(draw(provider_documents()), draw), lambda: draw(provider_shapes()))
    where = draw(st.sampled_from(["provider.yaml", "providers/http/provider.yaml",
                                  "providers/apache/hive/provider.yaml"]))
    files = {where: _encode(text, draw)}
    if draw(st.booleans()):  # a second, plain provider beside it
        files["providers/other/provider.yaml"] = b"package-name: apache-airflow-providers-other\ndependencies: [x]\n"
    return Case(files, _selection(draw, groups=False))


# --- requirements and constraints files ----------------------------------------------------------------

DEAD_URL = "http://127.0.0.1:9/requirements.txt"  # loopback, nothing listens: refused at once, never the network

_OPTIONS = ["--index-url https://example.invalid/simple", "--extra-index-url=https://e.invalid", "--pre", "-f ./w",
            "--hash=sha256:00", "--no-binary :all:", "-i https://x", "--only-binary=:none:", "-Z", "--unknown-flag",
            "-", "--", "-r", "-c", "--requirement", "-e", "--editable=", "--constraint=", "-rmore.txt"]
_INCLUDES = ["-r more.txt", "-r ./more.txt", "--requirement=more.txt", "-c constraints.txt", "-c  constraints.txt",
             "--constraint constraints.txt", "-r requirements.txt", "-r missing.txt", "-r sub/", "-r ../outside.txt",
             f"-r {DEAD_URL}", f"-c {DEAD_URL}", "-r /nonexistent/x.txt", "-r ~/nope.txt", "-r more.txt # cmt"]
_LOCAL = ["-e .", "-e .[devel]", ".", "./libs/foo", "../x", "~/x", "/abs/path", "file:///tmp/x", "./x[a,b]",
          "-e ./libs/foo[x]", "-e git+https://example.invalid/r.git#egg=r", "https://example.invalid/x.whl",
          "libs/foo", "./", "file:./rel"]


@st.composite
def requirement_lines(draw) -> str:
    kind = draw(st.integers(0, 11))
    if kind <= 3:
        line = draw(requirements())
    elif kind == 4:
        line = draw(st.sampled_from(_OPTIONS))
    elif kind == 5:
        line = draw(st.sampled_from(_INCLUDES))
    elif kind == 6:
        line = draw(st.sampled_from(_LOCAL))
    elif kind == 7:
        line = draw(st.sampled_from(["", "   ", "#", "# comment", "  # indented comment", "#-r more.txt"]))
    elif kind == 8:  # continued over lines, maybe ending in the backslash at the end of the file
        parts = draw(st.lists(requirements(), min_size=1, max_size=3))
        line = " \\\n    ".join(parts) + draw(st.sampled_from(["", " \\", "\\"]))
    elif kind == 9:
        line = draw(requirements()) + draw(st.sampled_from(["  # trailing", " --hash=sha256:aa", "#no-space",
                                                             " \\\n  --hash=sha256:bb"]))
    elif kind == 10:
        line = draw(requirements()) + " " + draw(st.sampled_from(_OPTIONS))
    else:
        line = draw(st.text(max_size=30))
    return line


@st.composite
def requirement_files(draw) -> str:
    return "\n".join(draw(st.lists(requirement_lines(), max_size=8))) + draw(st.sampled_from(["\n", "", "\n\n"]))


@st.composite
def requirements_cases(draw) -> Case:
    files = {"requirements.txt": _encode(draw(requirement_files()), draw)}
    if draw(st.booleans()):
        files["more.txt"] = _encode(draw(requirement_files()), draw)
    constraints = ()
    if draw(st.booleans()):
        files["constraints.txt"] = _encode(draw(requirement_files()), draw)
        if draw(st.booleans()):
            constraints = ("constraints.txt",)
    if draw(st.integers(0, 3)) == 0:  # a tree package a `-e .` or a path line can name
        files["pyproject.toml"] = b'[project]\nname = "myproj"\nversion = "0.1"\ndependencies = ["x"]\n'
        files["libs/foo/pyproject.toml"] = b'[project]\nname = "foo"\nversion = "1"\n'
    entries = ("requirements.txt",) + (("more.txt",) if draw(st.integers(0, 5)) == 0 else ())
    return Case(files, Selection(requirement_files=entries, constraint_files=constraints))


READERS = {"pyproject": pyproject_cases, "provider": provider_cases, "requirements": requirements_cases}

# --- the property --------------------------------------------------------------------------------------

_WHERE = re.compile(r"(?P<file>.+?)(?::(?P<line>[1-9][0-9]*))?")


class _Hook:
    """The build backend's answer for a dynamic pyproject.toml (collect's documented hook_runner seam).

    Running the real backend would be a build per example; what is fuzzed here is the reading of its
    answer (Requires-Dist lines, Provides-Extra, the Version), which comes from the case.
    """

    def __init__(self, answer: dict):
        self.answer = answer

    def __call__(self, project_dir, markers, key, **_):
        from types import SimpleNamespace

        return SimpleNamespace(requires_dist=list(self.answer["requires_dist"]),
                               provides_extra=list(self.answer["provides_extra"]), files=[], metadata_file="",
                               version=self.answer["version"], metadata_path="", wheel_path="", name="",
                               folders=[], vcs=[])


def target_markers() -> dict[str, str]:
    from packaging.markers import default_environment

    return dict(default_environment())


def check(case: Case, markers: dict[str, str] | None = None) -> str:
    """"parsed", or "refused" / "refused at a line": a SpecError naming a file of the case (and a line).

    Anything else raised propagates: a crash (or an AssertionError when the refusal names no file).
    """
    from incrinstall.common.errors import SpecError
    from incrinstall.specs.collect import collect, render_text

    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        root = Path(folder) / "tree"
        for rel, data in case.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        root.mkdir(exist_ok=True)
        hook = _Hook(case.hook or {"requires_dist": [], "provides_extra": [], "version": "1.0"})
        try:
            # hook_runner also keeps collect() away from the spec cache: every example is read afresh.
            specset = collect(root, case.selection, markers or target_markers(), hook_runner=hook)
        except SpecError as exc:
            assert_names_a_file(exc, case, root)
            return "refused at a line" if where_has_line(exc) else "refused"
        # What `incrinstall specs` prints of it, both ways (an odd string must not break the output either).
        render_text(specset).encode("utf-8")
        json.dumps(specset.to_json(), ensure_ascii=False).encode("utf-8")
    return "parsed"


def assert_names_a_file(exc, case: Case, root: Path) -> None:
    """The error's `where` is "file" or "file:line", the file one of the case's (or one a line includes)."""
    where = exc.where or ""
    found = _WHERE.fullmatch(where)
    assert found, f"SpecError without a file: {exc.message!r} where={exc.where!r}"
    file = found["file"]
    known = set(case.files) | {f"{os.path.dirname(r)}/".lstrip("/") for r in case.files}
    known |= {*case.selection.requirement_files, *case.selection.constraint_files}  # named, maybe missing
    if case.hook is not None:
        known.add("hatch_build.py")  # what the backend's answer is credited to (pyproject.apply_hook_result)
    included = {os.path.basename(m) for m in re.findall(r"(?:-r|-c|--requirement|--constraint)[ =]+(\S+)",
                                                         b"\n".join(case.files.values()).decode("utf-8", "replace"))}
    ok = (file in known or file == str(root) or file.startswith(str(root.parent)) or file == DEAD_URL
          or os.path.basename(file.rstrip("/")) in included or file.startswith(("/", "~"))
          or file in ("--provider", "--extra"))
    assert ok, f"SpecError naming no file of the case: {exc.message!r} where={exc.where!r}"


def where_has_line(exc) -> bool:
    found = _WHERE.fullmatch(exc.where or "")
    return bool(found and found["line"])


if __name__ == "__main__":  # print a few drawn cases, to see what the strategies make
    for reader, strategy in READERS.items():
        for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
            print(reader, strategy().example())
