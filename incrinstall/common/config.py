"""Where packages come from and which of them count: read once, here, and told to uv the same way.

One configuration: every setting that changes what is resolved (indexes, find-links,
index strategy, exclude-newer, pre-release policy, constraint files) is read by
`index_config()` from, in uv's order of precedence,

1. command-line options,
2. uv's environment variables (UV_DEFAULT_INDEX / UV_INDEX_URL, UV_INDEX, UV_EXTRA_INDEX_URL,
   UV_FIND_LINKS, UV_NO_INDEX, UV_OFFLINE, UV_INDEX_STRATEGY, UV_PRERELEASE, UV_EXCLUDE_NEWER,
   UV_CONSTRAINT), then pip's (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL),
3. the project's own uv settings: `uv.toml` next to pyproject.toml, else pyproject.toml's
   `[tool.uv]` and `[tool.uv.pip]` (the latter wins),

and then handed to incrinstall's own index client *and* spelled out as explicit flags on every
uv call (`uv_args()`), while uv itself reads no configuration (`--no-config`) and none of
`RESOLUTION_ENV` (incrinstall.common.uv strips them from its environment). Settings that would change
the resolution and that incrinstall does not implement are refused with the file and line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal, get_args

from incrinstall.common.errors import SpecError

PYPI_SIMPLE = "https://pypi.org/simple/"
IndexStrategy = Literal["first-index", "unsafe-first-match", "unsafe-best-match"]
INDEX_STRATEGIES: tuple[IndexStrategy, ...] = get_args(IndexStrategy)
# if-necessary-or-explicit: only when a root requirement's specifier names one, or a package has nothing else.
PrereleaseMode = Literal["if-necessary-or-explicit", "allow", "disallow"]
PRERELEASE_MODES: tuple[PrereleaseMode, ...] = get_args(PrereleaseMode)

# uv's environment variables that change what uv resolves or installs. index_config() reads the
# ones it implements and refuses the others; incrinstall.common.uv removes all of them from uv's
# environment, so the flags incrinstall passes are the only say uv gets.
RESOLUTION_ENV = (
    "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_FIND_LINKS", "UV_NO_INDEX",
    "UV_OFFLINE", "UV_INDEX_STRATEGY", "UV_PRERELEASE", "UV_EXCLUDE_NEWER", "UV_CONSTRAINT",
    "UV_OVERRIDE", "UV_BUILD_CONSTRAINT", "UV_RESOLUTION", "UV_NO_BINARY", "UV_NO_BUILD",
    "UV_NO_BINARY_PACKAGE", "UV_NO_BUILD_PACKAGE", "UV_TORCH_BACKEND", "UV_CONFIG_FILE", "UV_NO_SOURCES",
    "UV_EXCLUDE_NEWER_PACKAGE", "UV_FORK_STRATEGY", "UV_PYTHON_PLATFORM",
)
# Of those, the ones incrinstall cannot honour in its own resolver: refused rather than ignored.
_REFUSED_ENV = ("UV_OVERRIDE", "UV_BUILD_CONSTRAINT", "UV_RESOLUTION", "UV_NO_BINARY", "UV_NO_BUILD",
                "UV_NO_BINARY_PACKAGE", "UV_NO_BUILD_PACKAGE", "UV_TORCH_BACKEND", "UV_CONFIG_FILE",
                "UV_EXCLUDE_NEWER_PACKAGE", "UV_PYTHON_PLATFORM")
_TRUE = ("1", "true", "yes", "on")

# Project settings ([tool.uv], [tool.uv.pip], uv.toml) implemented here.
_HONOURED_KEYS = {"index-url", "extra-index-url", "index", "find-links", "no-index", "offline",
                  "exclude-newer", "exclude-newer-package", "prerelease", "index-strategy"}
# Project settings that change the resolution and that incrinstall does not implement.
_REFUSED_KEYS = {
    "constraint-dependencies": "constraints from [tool.uv] are not read; put them in a constraints file "
                               "and pass it with -c",
    "override-dependencies": "incrinstall's resolver has no overrides",
    "build-constraint-dependencies": "build environments take no constraints",
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


@dataclass(frozen=True)
class IndexConfig:
    index_url: str = PYPI_SIMPLE
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    offline: bool = False
    no_index: bool = False
    index_strategy: str = "first-index"
    exclude_newer: str | None = None  # RFC 3339, UTC ("2025-01-01T00:00:00Z"): files uploaded later are ignored
    # Per package: (canonical name, RFC 3339 UTC cutoff, or None for "no cutoff for this package").
    exclude_newer_package: tuple[tuple[str, str | None], ...] = ()
    exclude_newer_as_written: str | None = field(default=None, compare=False)  # "4 days" stays "4 days" in the stamp
    prerelease: str = "if-necessary-or-explicit"
    constraint_files: tuple[str, ...] = ()  # from UV_CONSTRAINT; the CLI adds them to the selection's -c files
    origins: dict[str, str] = field(default_factory=dict, compare=False)  # setting -> where it came from
    # The settings uv would not find by reading the project and its own variables (incrinstall's command
    # line, pip's variables), as uv flags, as written: for asking uv about the project's own uv.lock.
    given_args: tuple[str, ...] = field(default=(), compare=False)

    @property
    def index_urls(self) -> list[str]:
        """Every simple-API root to consult, in uv's priority order: extra indexes first, the default last."""
        if self.no_index:
            return []
        return [*self.extra_index_urls, self.index_url]

    def uv_args(self) -> list[str]:
        """The same settings, spelled as explicit uv options (uv reads no config and none of RESOLUTION_ENV)."""
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        else:
            args += ["--index-url", self.index_url]
            for url in self.extra_index_urls:
                args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        if self.offline:
            args.append("--offline")
        args += ["--index-strategy", self.index_strategy]
        if self.exclude_newer:
            args += ["--exclude-newer", self.exclude_newer]
        for name, cutoff in self.exclude_newer_package:
            args += ["--exclude-newer-package", f"{name}={cutoff or 'false'}"]
        return args

    def cutoff_for(self, name: str) -> str | None:
        """The exclude-newer cutoff that applies to package `name` (canonical), or None."""
        for package, cutoff in self.exclude_newer_package:
            if package == name:
                return cutoff
        return self.exclude_newer

    def as_dict(self) -> dict:
        from incrinstall.common.urls import redact

        return {
            "index_url": redact(self.index_url),
            "extra_index_urls": [redact(u) for u in self.extra_index_urls],
            "find_links": [redact(u) for u in self.find_links],
            "offline": self.offline,
            "no_index": self.no_index,
            "index_strategy": self.index_strategy,
            "exclude_newer": self.exclude_newer_as_written or self.exclude_newer,
            "exclude_newer_package": [list(p) for p in self.exclude_newer_package],
            "prerelease": self.prerelease,
            "constraint_files": list(self.constraint_files),
        }


def _loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine (pip's secure origins too)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_insecure_indexes(config: IndexConfig, *, allowed: bool) -> None:
    """SpecError for a plain http:// index or find-links URL to another host, unless `allowed`.

    Over plain http anyone on the path can swap a wheel, and a hash the same page advertises
    proves nothing. Loopback is exempt, as in pip; --allow-insecure-http lifts the rule.
    """
    if allowed:
        return
    from urllib.parse import urlsplit

    named = [] if config.no_index else [("index-url", config.index_url)]
    named += [("extra-index-url", u) for u in config.extra_index_urls] + [("find-links", u) for u in config.find_links]
    for key, url in named:
        parts = urlsplit(url)
        if parts.scheme.lower() == "http" and not _loopback(parts.hostname or ""):
            from incrinstall.common.urls import redact

            where = config.origins.get(key, "command line" if key != "index-url" else "")
            raise SpecError(f"refusing the plain-http {key} {redact(url)}: use https, or pass --allow-insecure-http",
                            where=where or None)


def uv_prerelease_args(mode: str, root_requirements=()) -> list[str]:
    """`--prerelease ...` for uv, meaning exactly what incrinstall's resolver does (see resolver._allows_prereleases).

    uv >= 0.12 reads `if-necessary-or-explicit` as `if-necessary` (prefer stable, fall back to a
    pre-release), which is not incrinstall's rule. `explicit` plus `--prerelease-package NAME=allow`
    for each root requirement whose specifier names a pre-release is.
    """
    if mode != "if-necessary-or-explicit":
        return ["--prerelease", mode]
    from incrinstall.common.names import names_prerelease
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    args = ["--prerelease", "explicit"]
    named: set[str] = set()
    for text in root_requirements:
        try:
            req = Requirement(str(getattr(text, "requirement", text)))
        except InvalidRequirement:
            continue
        if any(names_prerelease(s.version) for s in req.specifier):
            named.add(canonicalize_name(req.name))
    for name in sorted(named):
        args += ["--prerelease-package", f"{name}=allow"]
    return args


def _split(value: str | None, sep: str | None = None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(v.strip() for v in value.split(sep) if v.strip())


def _index_entry(value: str) -> str:
    """UV_INDEX / --index entries may be `name=url`."""
    name, sep, url = value.partition("=")
    if sep and "://" in url and "://" not in name and "/" not in name:
        return url
    return value


_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hr": 3600,
          "hour": 3600, "d": 86400, "day": 86400, "w": 604800, "week": 604800}


def _duration_seconds(text: str) -> int | None:
    """uv's "friendly" (`4 days`, `1 week 2 days`) and ISO 8601 (`P7D`, `PT24H`) durations; None if neither."""
    iso = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text.upper())
    if iso and any(iso.groups()):
        w, d, h, m, sec = (int(g or 0) for g in iso.groups())
        return (((w * 7 + d) * 24 + h) * 60 + m) * 60 + sec
    parts = re.findall(r"(\d+)\s*([a-z]+)", text.lower())
    if not parts or re.sub(r"[\d\s,a-z]", "", text.lower()) or "".join(n + u for n, u in parts) != re.sub(
            r"[\s,]", "", text.lower()):
        return None
    total = 0
    for number, unit in parts:
        seconds = _UNITS.get(unit.removesuffix("s")) or _UNITS.get(unit)
        if seconds is None:
            return None  # months and years are calendar units: uv refuses them too
        total += int(number) * seconds
    return total


def normalize_exclude_newer(value: str, *, where: str | None = None, now: datetime | None = None) -> str | None:
    """uv's accepted forms as one UTC RFC 3339 timestamp (None for `false`).

    A timestamp stays itself; a bare date is midnight in the system's time zone (as uv reads it);
    a duration is counted back from now, once, so incrinstall and uv see the same instant.
    """
    text = str(value).strip()
    if text.lower() == "false":
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            moment = datetime.strptime(text, "%Y-%m-%d").astimezone()
        elif (seconds := _duration_seconds(text)) is not None:
            moment = (now or datetime.now(timezone.utc)) - timedelta(seconds=seconds)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError("no time zone")
    except ValueError:
        raise SpecError(f"exclude-newer = {text!r} is not an RFC 3339 timestamp (2025-01-31T00:00:00Z), a date "
                        "(2025-01-31), a duration (4 days, P7D) or false", where=where) from None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def exclude_newer_cutoff(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _choice(value: str, allowed: tuple[str, ...], what: str, where: str | None) -> str:
    if value == "if-necessary" and what == "prerelease":
        value = "if-necessary-or-explicit"
    if value not in allowed:
        raise SpecError(f"{what} = {value!r} is not one of {', '.join(allowed)}", where=where)
    return value


# -- the project's own uv settings -----------------------------------------------------------


@dataclass
class _Setting:
    value: object
    where: str  # file:line


def _line_of(text: str, key: str, table: str | None) -> int:
    """The line of `key =` (inside `[table]` when given), 1-based; 1 when not found."""
    own_key = re.compile(rf"{re.escape(key)}\s*=")  # compiled once: a big pyproject.toml has thousands of lines
    dotted_key = re.compile(rf"{re.escape(table)}\.{re.escape(key)}\s*=") if table else None
    current = None
    for i, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            header = _HEADER.fullmatch(stripped)
            if header:
                current = header.group(1).replace('"', "").replace(" ", "")
                if table is not None and current == table and key == "index" and stripped.startswith("[["):
                    return i
                continue
        if current == table and own_key.match(stripped):
            return i
        if dotted_key is not None and current is None and dotted_key.match(stripped):
            return i
    return 1


_HEADER = re.compile(r"\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?")


def project_settings(project_dir: str | os.PathLike | None, *, resolving: bool = True) -> dict[str, _Setting]:
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
    from incrinstall.common.paths import cache_dir

    mode = b"" if resolving else b"locked\0"
    key = hashlib.sha256(b"settings-1\0" + mode + source.name.encode() + b"\0" + data).hexdigest()
    entry = cache_dir() / "settings" / f"{key}.json"
    try:
        with open(entry, encoding="utf-8") as fh:
            return {k: _Setting(v, where) for k, (v, where) in json.load(fh).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    settings = _read_project_settings(folder, resolving=resolving)
    try:
        text = json.dumps({k: [s.value, s.where] for k, s in settings.items()})
    except (TypeError, ValueError):
        return settings  # a TOML date or time: not JSON, so not remembered
    from incrinstall.common.atomic import write_atomic

    try:
        write_atomic(entry, text)
    except OSError:
        pass
    return settings


def _read_project_settings(folder: Path, *, resolving: bool = True) -> dict[str, _Setting]:
    from incrinstall.common.tomlfile import read_text

    sections: list[tuple[dict, str | None, str, str]] = []  # (table, table name for line lookup, file, text)
    uv_toml = folder / "uv.toml"
    pyproject = folder / "pyproject.toml"
    if uv_toml.is_file():
        text = read_text(uv_toml, uv_toml.name)
        data = _parse(text, uv_toml.name)
        sections = [(data, None, uv_toml.name, text), (data.get("pip") or {}, "pip", uv_toml.name, text)]
    elif pyproject.is_file():
        text = read_text(pyproject, pyproject.name)
        tool_uv = (_parse(text, pyproject.name).get("tool") or {}).get("uv") or {}
        if not tool_uv:
            return {}
        sections = [(tool_uv, "tool.uv", pyproject.name, text),
                    (tool_uv.get("pip") or {}, "tool.uv.pip", pyproject.name, text)]
    out: dict[str, _Setting] = {}
    for table, name, filename, text in sections:
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if key in _REFUSED_KEYS and resolving:
                where = f"{filename}:{_line_of(text, key, name)}"
                raise SpecError(f"[{name or 'uv.toml'}] {key} changes the resolution and incrinstall does not "
                                f"implement it ({_REFUSED_KEYS[key]}); remove it or run uv directly", where=where)
            if key in _HONOURED_KEYS:
                out[key] = _Setting(value, f"{filename}:{_line_of(text, key, name)}")
    return out


def _parse(text: str, filename: str) -> dict:
    from incrinstall.common.tomlfile import parse_toml

    return parse_toml(text, filename)


def _urls(setting: _Setting, key: str) -> tuple[str, ...]:
    value = setting.value
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SpecError(f"{key} must be a string or a list of strings", where=setting.where)


def _project_indexes(setting: _Setting) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """[[tool.uv.index]] -> (default index or None, other indexes in order, flat indexes)."""
    if not isinstance(setting.value, list):
        raise SpecError("index must be an array of tables ([[tool.uv.index]])", where=setting.where)
    default, others, flat = None, [], []
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


def _per_package_cutoffs(setting: _Setting) -> tuple[tuple[str, str | None], ...]:
    """[tool.uv.exclude-newer-package]: name = timestamp / date / duration, or false (no cutoff)."""
    from incrinstall.common.names import canonical_name as canonicalize_name  # packaging.utils pulls in packaging.tags

    if not isinstance(setting.value, dict):
        raise SpecError("exclude-newer-package must be a table of package = date", where=setting.where)
    out = []
    for name, value in setting.value.items():
        if value is False:
            out.append((canonicalize_name(name), None))
        elif isinstance(value, str):
            out.append((canonicalize_name(name), normalize_exclude_newer(value, where=setting.where)))
        else:
            raise SpecError(f"exclude-newer-package: {name} = {value!r} is not a date, a duration or false",
                            where=setting.where)
    return tuple(sorted(out))


def index_config(
    index_url: str | None = None,
    extra_index_urls: list[str] | tuple[str, ...] = (),
    find_links: list[str] | tuple[str, ...] = (),
    offline: bool = False,
    no_index: bool = False,
    environ: dict[str, str] | None = None,
    *,
    index_strategy: str | None = None,
    prerelease: str | None = None,
    exclude_newer: str | None = None,
    exclude_newer_package: list[str] | tuple[str, ...] = (),
    project_dir: str | os.PathLike | None = None,
    resolving: bool = True,
) -> IndexConfig:
    """Options first; else uv's environment variables (then pip's); else the project's uv settings; else PyPI.

    `resolving=False` when a lock decides what is installed: the project settings that only a resolver
    would need (override-dependencies, constraint-dependencies, ...) went into the lock, and are uv's.
    """
    env = os.environ if environ is None else environ
    no_index_given = no_index
    for name in _REFUSED_ENV:
        if env.get(name):
            raise SpecError(f"{name} is set, and it changes the resolution in a way incrinstall does not implement; "
                            "unset it", where=name)
    project = project_settings(project_dir, resolving=resolving)
    origins: dict[str, str] = {}

    def pick(key: str, cli, env_names: tuple[str, ...]):
        if cli not in (None, "", (), []):
            origins[key] = "command line"
            return cli
        for n in env_names:
            if env.get(n):
                origins[key] = n
                return env[n]
        if key in project:
            origins[key] = project[key].where
            return project[key].value
        return None

    # Indexes. The default: --index-url, UV_DEFAULT_INDEX, UV_INDEX_URL, PIP_INDEX_URL, the project's.
    p_default, p_others, p_flat = _project_indexes(project["index"]) if "index" in project else (None, (), ())
    url = pick("index-url", index_url, ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"))
    if url is None and p_default:
        url = p_default
        origins["index-url"] = project["index"].where
    if isinstance(url, list):
        raise SpecError("index-url must be one string", where=project["index-url"].where)
    url = url or PYPI_SIMPLE
    # Other indexes, highest priority first: command line / environment, then the project's.
    extras: tuple[str, ...] = tuple(extra_index_urls)
    given_extras = extras
    if not extras:
        extras = tuple(_index_entry(v) for v in _split(env.get("UV_INDEX"))) + _split(env.get("UV_EXTRA_INDEX_URL"))
    if not extras:
        extras = given_extras = _split(env.get("PIP_EXTRA_INDEX_URL"))
    extras += p_others
    if "extra-index-url" in project:
        extras += _urls(project["extra-index-url"], "extra-index-url")
    links = tuple(find_links) or _split(env.get("UV_FIND_LINKS"), ",")
    links += p_flat
    if "find-links" in project:
        links += _urls(project["find-links"], "find-links")

    strategy = pick("index-strategy", index_strategy, ("UV_INDEX_STRATEGY",)) or "first-index"
    strategy = _choice(str(strategy), INDEX_STRATEGIES, "index-strategy", origins.get("index-strategy"))
    pre = pick("prerelease", prerelease, ("UV_PRERELEASE",)) or "if-necessary-or-explicit"
    pre = _choice(str(pre), PRERELEASE_MODES, "prerelease", origins.get("prerelease"))
    newer_text = pick("exclude-newer", exclude_newer, ("UV_EXCLUDE_NEWER",))
    newer = None
    if newer_text is not None:
        newer_text = str(newer_text).strip()
        newer = normalize_exclude_newer(newer_text, where=origins.get("exclude-newer"))
    per_package = dict(_per_package_cutoffs(project["exclude-newer-package"]) if "exclude-newer-package" in project
                       else ())
    for pair in exclude_newer_package:  # the command line's NAME=DATE win over the project's
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SpecError(f"--exclude-newer-package {pair!r} is not NAME=DATE", where="--exclude-newer-package")
        per_package.update(_per_package_cutoffs(_Setting({name.strip(): False if value.strip().lower() == "false"
                                                          else value.strip()}, "--exclude-newer-package")))
    no_index = no_index or env.get("UV_NO_INDEX", "").lower() in _TRUE or bool(
        project.get("no-index", _Setting(False, "")).value)
    given = ["--no-index"] if no_index_given else []
    if origins.get("index-url") in ("command line", "PIP_INDEX_URL"):
        given += ["--index-url", url]
    given += [arg for extra in given_extras for arg in ("--extra-index-url", extra)]
    given += [arg for link in find_links for arg in ("--find-links", link)]
    given += ["--offline"] if offline else []
    given += ["--index-strategy", strategy] if origins.get("index-strategy") == "command line" else []
    given += ["--exclude-newer", newer_text] if newer_text and origins.get("exclude-newer") == "command line" else []
    given += [arg for pair in exclude_newer_package for arg in ("--exclude-newer-package", pair)]
    offline = offline or env.get("UV_OFFLINE", "").lower() in _TRUE or bool(
        project.get("offline", _Setting(False, "")).value)
    return IndexConfig(
        index_url=url,
        extra_index_urls=tuple(dict.fromkeys(extras)),
        find_links=tuple(dict.fromkeys(links)),
        offline=offline,
        no_index=no_index,
        index_strategy=strategy,
        exclude_newer=newer,
        exclude_newer_package=tuple(sorted(per_package.items())),
        exclude_newer_as_written=newer_text if newer is not None else None,
        prerelease=pre,
        constraint_files=_split(env.get("UV_CONSTRAINT")),
        origins=origins,
        given_args=tuple(given),
    )
