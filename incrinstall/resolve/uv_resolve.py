"""Resolve from scratch with `uv pip compile`, into the same Resolution the resolver returns.

A baseline installs hundreds of packages into an empty environment: that is a fresh
resolution, which uv does many times faster than resolvelib in Python. The incremental
resolution of `sync` stays ours (it must prefer what is installed and touch the index only
for the delta), and so does a baseline into an environment that already has packages of its
own. The packages the project tree provides are pinned, as URL constraints, to stand-in
wheels with the tree's version and requirements and no files: uv never fetches them from the
index, and still checks every requirement on them. uv's PEP 751 output gives each pin's file
and hashes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from incrinstall.common.config import PrereleaseMode, uv_prerelease_args
from incrinstall.common.errors import IndexUnavailable, ResolutionError, UvError
from incrinstall.common.names import canonical_name
from incrinstall.common.tomlfile import read_toml
from incrinstall.resolve.model import ROOT, PackageIndex, Pin, PinOrigin, Resolution
from incrinstall.common.uv import REAL_UV, UvRunner
from incrinstall.specs.model import LocalPackage

if TYPE_CHECKING:
    from incrinstall.environment.installed import InstalledDist
    from incrinstall.environment.interpreter import Interpreter
    from incrinstall.specs.model import RootRequirement

def _stand_in_wheel(folder: Path, package: LocalPackage) -> Path:
    """A wheel with no files standing for a package the tree provides: its real version and requirements.

    uv resolves requirements on it (a provider's `apache-airflow>=2.11`, `project[extra]`)
    exactly as it would on the real thing, and never fetches it from the index. Its METADATA lists
    the package's own Requires-Dist lines, markers kept: uv's choices on a large set depend on them.
    """
    dist = re.sub(r"[-_.]+", "_", package.name)
    info = f"{dist}-{package.version}.dist-info"
    lines = ["Metadata-Version: 2.1", f"Name: {package.name}", f"Version: {package.version}"]
    if package.requires_dist or package.provides_extra:
        lines += [f"Provides-Extra: {extra}" for extra in package.provides_extra]
        lines += [f"Requires-Dist: {text}" for text in package.requires_dist]
    else:  # a package known only by its requirements for the target (markers already evaluated)
        lines += [f"Requires-Dist: {text}" for text in package.requires]
        for extra, texts in sorted(package.extras.items()):
            lines.append(f"Provides-Extra: {extra}")
            lines += [f"Requires-Dist: {_with_extra(text, extra)}" for text in texts]
    files = {
        f"{info}/METADATA": "\n".join(lines) + "\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: incrinstall\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{dist}-{package.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


_PRERELEASE_HINT = re.compile(r"^hint:.*pre-release.*$", re.MULTILINE | re.IGNORECASE)
_PRERELEASE_ROUNDS = 10


def _run_allowing_only_prereleases(args: list[str], output: Path, only_prereleases: Callable[[str], bool] | None,
                                   uv: UvRunner) -> None:
    """Run `uv pip compile` so that it follows incrinstall's pre-release rule, which uv >= 0.12 has no mode for.

    The rule admits a package's pre-releases when a root requirement names one (`args` already
    allow those) or when the package has published nothing else (as
    opentelemetry-semantic-conventions, which Airflow needs). uv's `if-necessary` also admits them
    where stable versions exist but do not fit; its `explicit` never admits the second kind. So:
    resolve with `if-necessary` first (newest first, as our resolver is); if every pre-release in
    the result belongs to a package with nothing else (the index says), that is the answer.
    Otherwise resolve with `explicit` plus those packages allowed, and allow any more that uv's
    hint then names as refused and that have only pre-releases.
    """
    at = args.index("--prerelease") + 1 if "--prerelease" in args else None
    if only_prereleases is None or at is None or args[at] != "explicit":
        uv.run(args, what="resolving with uv")
        return
    first = [*args[:at], "if-necessary", *args[at + 1:]]
    allowed = {canonical_name(v.split("=", 1)[0]) for k, v in zip(args, args[1:]) if k == "--prerelease-package"}
    preferences = output.read_text() if output.exists() else None  # uv overwrites them with its answer
    try:
        uv.run(first, what="resolving with uv")
        pre = {name for name, (version, _files) in parse_pylock(read_toml(output), set()).items()
               if _is_prerelease(version)} - allowed
        extra = {name for name in pre if only_prereleases(name)}
        if extra == pre:
            return
    except UvError as exc:
        said = exc.output or exc.detail or exc.message
        if "No solution found" not in said:
            raise  # the index or the network failed, not the pre-release rule: asking again doubles the wait
        extra = set()
    if preferences is not None:
        output.write_text(preferences)
    else:
        output.unlink(missing_ok=True)
    for _round in range(_PRERELEASE_ROUNDS):
        for name in sorted(extra - allowed):
            args += ["--prerelease-package", f"{name}=allow"]
        allowed |= extra
        try:
            uv.run(args, what="resolving with uv")
            return
        except UvError as exc:
            said = exc.output
            named = {canonical_name(n) for hint in _PRERELEASE_HINT.findall(said)
                     for n in re.findall(r"`([A-Za-z0-9][A-Za-z0-9._-]*)`", hint)}
            extra = {n for n in named - allowed if only_prereleases(n)}
            if not extra:
                raise
    uv.run(args, what="resolving with uv")


# uv's words for a package of which it found nothing: not on the index, or a page with no usable file.
_MISSING = re.compile(r"`?([A-Za-z0-9][A-Za-z0-9._-]*)`? was not found in the package registry"
                      r"|there are no versions of `?([A-Za-z0-9][A-Za-z0-9._-]*)`?")


def _missing_notes(said: str, why_missing: Callable[[str], str | None] | None) -> str:
    """"what the index says" lines for the packages uv found nothing of: uv names none of the URLs."""
    if why_missing is None:
        return ""
    names = dict.fromkeys(canonical_name(a or b) for a, b in _MISSING.findall(said))
    notes = [f"  {name}: {why}" for name in names if (why := why_missing(name))]
    return "\nwhat the index says:\n" + "\n".join(notes) if notes else ""


def _is_prerelease(version: str) -> bool:
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


def _plain(text: str) -> bool:
    """Safe inside a TOML basic string without escapes (names and versions always are)."""
    return re.fullmatch(r"[A-Za-z0-9._+!-]+", text) is not None


def _with_extra(text: str, extra: str) -> str:
    # The tree's requirement strings have their markers evaluated and dropped already.
    return f'{text} ; extra == "{extra}"' if "@" in text else f'{text}; extra == "{extra}"'


@dataclass(frozen=True)
class LockedFile:
    """The file uv chose for a pin (what the state file records)."""

    url: str
    hashes: dict[str, str]
    direct: bool = False  # named by a direct URL requirement: installed from the URL, not by name
    metadata_url: str | None = None  # uv read its metadata; incrinstall did not


def parse_pylock(data: dict[str, Any], skip: set[str]) -> dict[str, tuple[str, list[LockedFile]]]:
    """uv's PEP 751 output -> {canonical name: (version, files)}; packages in `skip` (the tree's) are left out."""
    out: dict[str, tuple[str, list[LockedFile]]] = {}
    for entry in data.get("packages", []):
        name = canonical_name(entry["name"])
        if name in skip or "version" not in entry:
            continue
        dists = list(entry.get("wheels") or []) + ([entry["sdist"]] if entry.get("sdist") else [])
        files = [LockedFile(d["url"], dict(d.get("hashes", {}))) for d in dists if d.get("url")]
        archive = entry.get("archive")  # a direct URL requirement's file
        if archive and (archive.get("url") or archive.get("path")):
            url = archive.get("url") or Path(archive["path"]).resolve().as_uri()
            files = [LockedFile(url, dict(archive.get("hashes", {})), direct=True)]
        out[name] = (entry["version"], files)
    return out


def resolve_with_uv(
    requirements: Sequence[RootRequirement],
    constraints: Sequence[RootRequirement] = (),
    *,
    interpreter: Interpreter,
    installed: Mapping[str, InstalledDist],
    uv_index_args: list[str],
    local_packages: Sequence[LocalPackage] = (),
    prerelease: PrereleaseMode = "if-necessary-or-explicit",
    preferences: Mapping[str, str] | None = None,
    only_prereleases: Callable[[str], bool] | None = None,
    why_missing: Callable[[str], str | None] | None = None,
    uv: UvRunner = REAL_UV,
) -> Resolution:
    """Pin the root requirements with uv; raise ResolutionError (with uv's explanation) if impossible.

    `preferences` (name -> version: what is installed, the baseline's pins) are handed to uv as
    the existing output file, whose pins uv keeps wherever the requirements allow.
    `only_prereleases(name)`: has the package published nothing but pre-releases? (See
    `_run_allowing_only_prereleases`.)
    `why_missing(name)`: what the index pages said of a package uv found no versions of (their URLs).
    `uv`: runs `uv pip compile` (a test may hand a fake).
    """
    local = {lp.name: lp.version for lp in local_packages}
    with tempfile.TemporaryDirectory(prefix="incrinstall-uv-") as tmp:
        folder = Path(tmp)
        (folder / "requirements.in").write_text("".join(f"{r.requirement}\n" for r in requirements))
        output = folder / "pylock.toml"
        if preferences:
            entries = [f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\n'
                       for name, version in sorted(preferences.items()) if _plain(name) and _plain(version)]
            output.write_text('lock-version = "1.0"\ncreated-by = "incrinstall"\n' + "".join(entries))
        args = ["pip", "compile", str(folder / "requirements.in"), "--python", interpreter.executable,
                "--format", "pylock.toml", "--no-header", "--quiet",  # uv_index_args: --index-strategy etc.
                *uv_prerelease_args(prerelease, requirements), "-o", str(output), *uv_index_args]
        # The tree's packages are constraints by URL, not overrides: a constraint adds no package,
        # and every requirement on it is still checked against the tree's version.
        pinned = [c.requirement for c in constraints]
        pinned += [f"{lp.name} @ {_stand_in_wheel(folder, lp).as_uri()}"
                   for lp in sorted(local_packages, key=lambda lp: lp.name)]
        if pinned:
            (folder / "constraints.txt").write_text("".join(f"{line}\n" for line in pinned))
            args += ["-c", str(folder / "constraints.txt")]
        try:
            _run_allowing_only_prereleases(args, output, only_prereleases, uv)
        except UvError as exc:
            said = exc.output or exc.detail or exc.message
            if "No solution found" not in said:
                raise  # the index or the interpreter failed, not the specs: uv's words say which
            explanation = "\n".join(said.strip().splitlines()[:120])
            sources = "\n".join(f"  {r.requirement:<30} {r.source}" for r in requirements)
            raise ResolutionError("the requirements cannot be satisfied together (resolved by uv)",
                                  detail=f"{explanation}\nroot requirements:\n{sources}"
                                         f"{_missing_notes(said, why_missing)}") from None
        locked = parse_pylock(read_toml(output), set(local))

    root_sources: dict[str, list[str]] = {}
    for r in requirements:
        name = canonical_name(Requirement(r.requirement).name)
        root_sources.setdefault(name, []).append(r.source)
    pins: dict[str, Pin] = {}
    for name, (version, files) in locked.items():
        dist = installed.get(name)
        origin: PinOrigin = "installed" if dist is not None and dist.version == version else "index"
        hashes = tuple(f"sha256:{f.hashes['sha256']}" for f in files) if all(
            f.hashes.get("sha256") for f in files) and files else ()
        direct = files[0].url if files and files[0].direct else None
        pins[name] = Pin(name, version, origin, (), files[0] if files else None, hashes, direct)
    # uv's lock output does not say who required what; roots are known, the rest is "required".
    required_by = {name: [ROOT] for name in root_sources if name in pins}
    return Resolution(pins=dict(sorted(pins.items())), local=local, required_by=required_by,
                      root_sources=root_sources, index_requests=0, by_uv=True)


# --- asking the index, only when uv refused -------------------------------------------------------


def has_only_prereleases(index: PackageIndex, name: str) -> bool:
    """Has `name` published nothing but pre-releases (for the target)? One index page, asked only when uv refused.

    When the page cannot be had, that failure is the error (URL, status or TLS reason): uv's
    refusal would send the user after pre-releases when the network is what broke.
    """
    try:
        versions = index.versions(name)
    except IndexUnavailable as exc:
        note = (f"incrinstall asked the index for {name} to apply its pre-release rule to uv's resolution "
                "(uv itself reached the index); check that incrinstall trusts the same CA certificates and "
                "credentials as uv")
        exc.detail = f"{exc.detail}\n{note}" if exc.detail else note
        raise
    return bool(versions) and all(iv.version.is_prerelease for iv in versions)


def why_no_versions(index: PackageIndex, name: str) -> str | None:
    """What the index pages say of `name` when they give no version (their URLs), for uv's "no versions of"."""
    try:
        if index.versions(name):
            return None
    except IndexUnavailable as exc:  # the page's own failure is the answer, shown under uv's
        return exc.message
    return index.why_no_versions(name)
