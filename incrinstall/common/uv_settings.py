"""The project's own uv settings (uv.toml, else pyproject.toml's [tool.uv] and [tool.uv.pip]) that change what is
resolved, each with the file:line it came from; the ones incrinstall does not implement are refused."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from incrinstall.common.errors import SpecError
from incrinstall.common.exclude_newer import normalize_exclude_newer
from incrinstall.common.names import canonical_name
from incrinstall.common.paths import cache_dir
from incrinstall.common.tomlfile import TomlLocator, parse_toml, read_text

# Project settings ([tool.uv], [tool.uv.pip], uv.toml) implemented here.
HONOURED_KEYS = frozenset({"index-url", "extra-index-url", "index", "find-links", "no-index", "offline",
                           "exclude-newer", "exclude-newer-package", "prerelease", "index-strategy",
                           "build-constraint-dependencies"})
# Project settings that change the resolution and that incrinstall does not implement.
REFUSED_KEYS = {
    "constraint-dependencies": "constraints from [tool.uv] are not read; put them in a constraints file "
                               "and pass it with -c",
    "override-dependencies": "incrinstall's resolver has no overrides",
    "resolution": "only the default resolution (highest) is implemented",
    "no-binary": "incrinstall cannot restrict wheels", "no-binary-package": "incrinstall cannot restrict wheels",
    "only-binary": "incrinstall cannot restrict sdists",
    "no-build": "incrinstall cannot restrict sdists", "no-build-package": "incrinstall cannot restrict sdists",
    "dependency-metadata": "static metadata overrides are not implemented",
    "python-version": "the target interpreter decides markers (--python)",
    "python-platform": "the target interpreter decides markers (--python)",
    "torch-backend": "torch backend indexes are not implemented",
    "no-sources": "[tool.uv.sources] handling is not configurable",
    "keyring-provider": "use ~/.netrc or credentials in the index URL",
}
_CACHE_FORMAT = b"settings-3\0"  # bump when what a setting holds (or its `where`) changes


@dataclass
class Setting:
    """One setting's value as the TOML file gives it, and where: `file:line` (or an environment variable, an option)."""

    value: object
    where: str


def project_settings(project_dir: str | os.PathLike[str] | None, *, resolving: bool = True) -> dict[str, Setting]:
    """The resolution settings of the project's uv.toml, else its [tool.uv] / [tool.uv.pip] (pip wins).

    Remembered by the bytes of the file they come from: a big pyproject.toml (Airflow's) costs tens
    of milliseconds to parse, every command needs these settings, and they rarely change.
    `resolving=False`: a lock decides what is installed, so the settings only a resolver needs are not refused.
    """
    if project_dir is None:
        return {}
    folder = Path(project_dir)
    source = folder / "uv.toml" if (folder / "uv.toml").is_file() else folder / "pyproject.toml"
    try:
        data = source.read_bytes()
    except OSError:
        return _read_project_settings(folder, resolving=resolving)
    mode = b"" if resolving else b"locked\0"
    key = hashlib.sha256(_CACHE_FORMAT + mode + source.name.encode() + b"\0" + data).hexdigest()
    entry = cache_dir() / "settings" / f"{key}.json"
    try:
        with open(entry, encoding="utf-8") as fh:
            return {k: Setting(v, where) for k, (v, where) in json.load(fh).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    settings = _read_project_settings(folder, resolving=resolving)
    try:
        text = json.dumps({k: [s.value, s.where] for k, s in settings.items()})
    except (TypeError, ValueError):
        return settings  # a TOML date or time: not JSON, so not remembered
    # Local: cli.py imports this module's caller for --help, which must not pay for the writer's threading.
    from incrinstall.common.atomic import write_atomic

    try:
        write_atomic(entry, text)
    except OSError:
        pass
    return settings


def _read_project_settings(folder: Path, *, resolving: bool = True) -> dict[str, Setting]:
    sections: list[tuple[object, tuple[str, ...], TomlLocator]] = []  # (table, its key path in the file, locator)
    uv_toml = folder / "uv.toml"
    pyproject = folder / "pyproject.toml"
    if uv_toml.is_file():
        text = read_text(uv_toml, uv_toml.name)
        data = parse_toml(text, uv_toml.name)
        locator = TomlLocator(text, uv_toml.name)
        sections = [(data, (), locator), (data.get("pip") or {}, ("pip",), locator)]
    elif pyproject.is_file():
        text = read_text(pyproject, pyproject.name)
        tool_uv = (parse_toml(text, pyproject.name).get("tool") or {}).get("uv") or {}
        if not tool_uv:
            return {}
        locator = TomlLocator(text, pyproject.name)
        sections = [(tool_uv, ("tool", "uv"), locator), (tool_uv.get("pip") or {}, ("tool", "uv", "pip"), locator)]
    out: dict[str, Setting] = {}
    for table, path, locator in sections:
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if key in REFUSED_KEYS and resolving:
                raise SpecError(f"[{'.'.join(path) or 'uv.toml'}] {key} changes the resolution and incrinstall does "
                                f"not implement it ({REFUSED_KEYS[key]}); remove it or run uv directly",
                                where=_where(locator, (*path, key)))
            if key in HONOURED_KEYS:
                out[key] = Setting(value, _where(locator, (*path, key)))
    return out


def _where(locator: TomlLocator, path: tuple[str, ...]) -> str:
    """file:line of a key; of an array of tables ([[tool.uv.index]]), its first table's header."""
    found = locator.where(path)
    return found if found != locator.rel else locator.where(path, 0)


def urls(setting: Setting, key: str) -> tuple[str, ...]:
    """A setting that is one URL or a list of them."""
    value = setting.value
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SpecError(f"{key} must be a string or a list of strings", where=setting.where)


def project_indexes(setting: Setting) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """[[tool.uv.index]] -> (default index or None, other indexes in order, flat indexes)."""
    if not isinstance(setting.value, list):
        raise SpecError("index must be an array of tables ([[tool.uv.index]])", where=setting.where)
    default: str | None = None
    others: list[str] = []
    flat: list[str] = []
    for entry in setting.value:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise SpecError("every [[tool.uv.index]] needs a url", where=setting.where)
        if entry.get("explicit"):
            continue  # only used for packages that name it in [tool.uv.sources]
        if entry.get("format", "simple") == "flat":
            flat.append(entry["url"])
        elif entry.get("default"):
            default = entry["url"]
        else:
            others.append(entry["url"])
    return default, tuple(others), tuple(flat)


def per_package_cutoffs(setting: Setting) -> tuple[tuple[str, str | None], ...]:
    """[tool.uv.exclude-newer-package]: name = timestamp / date / duration, or false (no cutoff)."""
    if not isinstance(setting.value, dict):
        raise SpecError("exclude-newer-package must be a table of package = date", where=setting.where)
    out: list[tuple[str, str | None]] = []
    for name, value in setting.value.items():
        if value is False:
            out.append((canonical_name(name), None))
        elif isinstance(value, str):
            out.append((canonical_name(name), normalize_exclude_newer(value, where=setting.where)))
        else:
            raise SpecError(f"exclude-newer-package: {name} = {value!r} is not a date, a duration or false",
                            where=setting.where)
    return tuple(sorted(out, key=lambda pair: pair[0]))
