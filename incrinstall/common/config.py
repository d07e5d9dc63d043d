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
the resolution and that incrinstall does not implement are refused with the file and line
(the project's settings are read by uv_settings.py, exclude-newer values by exclude_newer.py).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args
from urllib.parse import urlsplit

from incrinstall.common.errors import SpecError
from incrinstall.common.exclude_newer import normalize_exclude_newer
from incrinstall.common.names import canonical_name, names_prerelease
from incrinstall.common.paths import cache_dir
from incrinstall.common.urls import redact
from incrinstall.common.uv_settings import Setting, per_package_cutoffs, project_indexes, project_settings, urls

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


@dataclass(frozen=True)
class IndexConfig:
    """The one configuration of where packages come from and which count, as incrinstall and uv both use it."""

    index_url: str = PYPI_SIMPLE
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    offline: bool = False
    no_index: bool = False
    index_strategy: IndexStrategy = "first-index"
    exclude_newer: str | None = None  # RFC 3339, UTC ("2025-01-01T00:00:00Z"): files uploaded later are ignored
    # Per package: (canonical name, RFC 3339 UTC cutoff, or None for "no cutoff for this package").
    exclude_newer_package: tuple[tuple[str, str | None], ...] = ()
    exclude_newer_as_written: str | None = field(default=None, compare=False)  # "4 days" stays "4 days" in the stamp
    prerelease: PrereleaseMode = "if-necessary-or-explicit"
    constraint_files: tuple[str, ...] = ()  # from UV_CONSTRAINT; the CLI adds them to the selection's -c files
    # [tool.uv] build-constraint-dependencies: what a build environment may install (never the resolution).
    build_constraints: tuple[str, ...] = ()
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
        if self.build_constraints:
            args += ["--build-constraints", self.build_constraints_file()]
        return args

    def build_constraints_file(self) -> str:
        """The build constraints as a requirements file for uv, named by its content under the cache (stable
        across runs, so a build environment's key stays the same while the constraints do)."""
        text = "".join(f"{line}\n" for line in self.build_constraints)
        path = cache_dir() / "build-constraints" / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.txt"
        if not path.is_file():
            # Local: --help imports this module, and must not pay for the writer's threading.
            from incrinstall.common.atomic import write_atomic

            write_atomic(path, text)
        return str(path)

    def cutoff_for(self, name: str) -> str | None:
        """The exclude-newer cutoff that applies to package `name` (canonical), or None."""
        for package, cutoff in self.exclude_newer_package:
            if package == name:
                return cutoff
        return self.exclude_newer

    def as_dict(self) -> dict[str, object]:
        """The settings as the stamp and `--json` show them (URLs without passwords)."""
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
            **({"build_constraints": list(self.build_constraints)} if self.build_constraints else {}),
        }


def _loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine (pip's secure origins too)."""
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
    named = [] if config.no_index else [("index-url", config.index_url)]
    named += [("extra-index-url", u) for u in config.extra_index_urls] + [("find-links", u) for u in config.find_links]
    for key, url in named:
        parts = urlsplit(url)
        if parts.scheme.lower() == "http" and not _loopback(parts.hostname or ""):
            where = config.origins.get(key, "command line" if key != "index-url" else "")
            raise SpecError(f"refusing the plain-http {key} {redact(url)}: use https, or pass --allow-insecure-http",
                            where=where or None)


class HasRequirement(Protocol):
    """A root requirement as the specs hand it on (specs.model.RootRequirement): its PEP 508 string."""

    @property
    def requirement(self) -> str: ...


def uv_prerelease_args(mode: PrereleaseMode, root_requirements: Iterable[str | HasRequirement] = ()) -> list[str]:
    """`--prerelease ...` for uv, meaning exactly what incrinstall's resolver does (see resolver._allows_prereleases).

    uv >= 0.12 reads `if-necessary-or-explicit` as `if-necessary` (prefer stable, fall back to a
    pre-release), which is not incrinstall's rule. `explicit` plus `--prerelease-package NAME=allow`
    for each root requirement whose specifier names a pre-release is.
    """
    if mode != "if-necessary-or-explicit":
        return ["--prerelease", mode]
    # Local: cli.py imports this module for --help, which must not pay for packaging's requirement parser.
    from packaging.requirements import InvalidRequirement, Requirement

    args = ["--prerelease", "explicit"]
    named: set[str] = set()
    for item in root_requirements:
        try:
            req = Requirement(item if isinstance(item, str) else item.requirement)
        except InvalidRequirement:
            continue
        if any(names_prerelease(s.version) for s in req.specifier):
            named.add(canonical_name(req.name))
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


def _index_strategy(value: object, where: str | None) -> IndexStrategy:
    found = next((s for s in INDEX_STRATEGIES if s == value), None)
    if found is None:
        raise SpecError(f"index-strategy = {value!r} is not one of {', '.join(INDEX_STRATEGIES)}", where=where)
    return found


def _prerelease_mode(value: object, where: str | None) -> PrereleaseMode:
    if value == "if-necessary":  # uv's mode of that name is taken as incrinstall's default, as it always was
        value = "if-necessary-or-explicit"
    found = next((m for m in PRERELEASE_MODES if m == value), None)
    if found is None:
        raise SpecError(f"prerelease = {value!r} is not one of {', '.join(PRERELEASE_MODES)}", where=where)
    return found


class _Sources:
    """Where each setting is taken from, in uv's order: the command line, the environment, the project; `origins`
    records which one gave each setting."""

    def __init__(self, env: Mapping[str, str], project: dict[str, Setting]):
        self.env = env
        self.project = project
        self.origins: dict[str, str] = {}

    def pick(self, key: str, given: object, env_names: tuple[str, ...]) -> object:
        if given not in (None, "", (), []):
            self.origins[key] = "command line"
            return given
        for name in env_names:
            if self.env.get(name):
                self.origins[key] = name
                return self.env[name]
        if key in self.project:
            self.origins[key] = self.project[key].where
            return self.project[key].value
        return None

    def flag(self, key: str, env_name: str) -> bool:
        """A true/false setting of the environment or the project (the command line's is or-ed by the caller)."""
        setting = self.project.get(key)
        return self.env.get(env_name, "").lower() in _TRUE or bool(setting is not None and setting.value)


def index_config(
    index_url: str | None = None,
    extra_index_urls: list[str] | tuple[str, ...] = (),
    find_links: list[str] | tuple[str, ...] = (),
    offline: bool = False,
    no_index: bool = False,
    environ: Mapping[str, str] | None = None,
    *,
    index_strategy: str | None = None,
    prerelease: str | None = None,
    exclude_newer: str | None = None,
    exclude_newer_package: list[str] | tuple[str, ...] = (),
    project_dir: str | os.PathLike[str] | None = None,
    resolving: bool = True,
) -> IndexConfig:
    """Options first; else uv's environment variables (then pip's); else the project's uv settings; else PyPI.

    `resolving=False` when a lock decides what is installed: the project settings that only a resolver
    would need (override-dependencies, constraint-dependencies, ...) went into the lock, and are uv's.
    """
    env = os.environ if environ is None else environ
    for name in _REFUSED_ENV:
        if env.get(name):
            raise SpecError(f"{name} is set, and it changes the resolution in a way incrinstall does not implement; "
                            "unset it", where=name)
    sources = _Sources(env, project_settings(project_dir, resolving=resolving))
    url, extras, given_extras, links = _indexes(sources, index_url, tuple(extra_index_urls), tuple(find_links))
    strategy = _index_strategy(sources.pick("index-strategy", index_strategy, ("UV_INDEX_STRATEGY",)) or "first-index",
                               sources.origins.get("index-strategy"))
    pre = _prerelease_mode(sources.pick("prerelease", prerelease, ("UV_PRERELEASE",)) or "if-necessary-or-explicit",
                           sources.origins.get("prerelease"))
    newer_given = sources.pick("exclude-newer", exclude_newer, ("UV_EXCLUDE_NEWER",))
    newer_text = None if newer_given is None else str(newer_given).strip()
    newer = None if newer_text is None else normalize_exclude_newer(newer_text,
                                                                    where=sources.origins.get("exclude-newer"))
    given = _given_args(sources.origins, no_index=no_index, url=url, given_extras=given_extras,
                        find_links=find_links, offline=offline, strategy=strategy, newer_text=newer_text,
                        exclude_newer_package=exclude_newer_package)
    return IndexConfig(
        index_url=url,
        extra_index_urls=tuple(dict.fromkeys(extras)),
        find_links=tuple(dict.fromkeys(links)),
        offline=offline or sources.flag("offline", "UV_OFFLINE"),
        no_index=no_index or sources.flag("no-index", "UV_NO_INDEX"),
        index_strategy=strategy,
        exclude_newer=newer,
        exclude_newer_package=_per_package(sources.project, exclude_newer_package),
        exclude_newer_as_written=newer_text if newer is not None else None,
        prerelease=pre,
        constraint_files=_split(env.get("UV_CONSTRAINT")),
        build_constraints=_build_constraints(sources.project.get("build-constraint-dependencies")),
        origins=sources.origins,
        given_args=tuple(given),
    )


def _build_constraints(setting: Setting | None) -> tuple[str, ...]:
    """[tool.uv] build-constraint-dependencies: a list of requirement strings, as uv takes it."""
    if setting is None:
        return ()
    # Local: --help imports this module, and packaging's parser compiles its regexes at import.
    from packaging.requirements import InvalidRequirement, Requirement

    value = setting.value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError("build-constraint-dependencies must be a list of requirement strings", where=setting.where)
    for line in value:
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise SpecError(f"invalid requirement {line!r} in build-constraint-dependencies: {exc}",
                            where=setting.where) from None
    return tuple(value)


def _indexes(sources: _Sources, index_url: str | None, extra_index_urls: tuple[str, ...],
             find_links: tuple[str, ...]) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(the default index, the other indexes highest priority first, those given outside the project, find-links).

    The default: --index-url, UV_DEFAULT_INDEX, UV_INDEX_URL, PIP_INDEX_URL, the project's. The others: the
    command line's or the environment's, then the project's.
    """
    env, project = sources.env, sources.project
    p_default, p_others, p_flat = project_indexes(project["index"]) if "index" in project else (None, (), ())
    url = sources.pick("index-url", index_url, ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"))
    if url is None and p_default:
        url = p_default
        sources.origins["index-url"] = project["index"].where
    if url is not None and not isinstance(url, str):
        raise SpecError("index-url must be one string", where=project["index-url"].where)
    extras = given_extras = extra_index_urls
    if not extras:
        extras = tuple(_index_entry(v) for v in _split(env.get("UV_INDEX"))) + _split(env.get("UV_EXTRA_INDEX_URL"))
    if not extras:
        extras = given_extras = _split(env.get("PIP_EXTRA_INDEX_URL"))
    extras += p_others
    if "extra-index-url" in project:
        extras += urls(project["extra-index-url"], "extra-index-url")
    links = find_links or _split(env.get("UV_FIND_LINKS"), ",")
    links += p_flat
    if "find-links" in project:
        links += urls(project["find-links"], "find-links")
    return url or PYPI_SIMPLE, extras, given_extras, links


def _per_package(project: dict[str, Setting], pairs: list[str] | tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    """The project's exclude-newer-package, then the command line's NAME=DATE pairs (which win)."""
    cutoffs = dict(per_package_cutoffs(project["exclude-newer-package"]) if "exclude-newer-package" in project else ())
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SpecError(f"--exclude-newer-package {pair!r} is not NAME=DATE", where="--exclude-newer-package")
        given = False if value.strip().lower() == "false" else value.strip()
        cutoffs.update(per_package_cutoffs(Setting({name.strip(): given}, "--exclude-newer-package")))
    return tuple(sorted(cutoffs.items(), key=lambda item: item[0]))


def _given_args(origins: dict[str, str], *, no_index: bool, url: str, given_extras: tuple[str, ...],
                find_links: list[str] | tuple[str, ...], offline: bool, strategy: IndexStrategy,
                newer_text: str | None, exclude_newer_package: list[str] | tuple[str, ...]) -> list[str]:
    """The settings uv would not find itself (incrinstall's command line, pip's variables), as uv flags."""
    given = ["--no-index"] if no_index else []
    if origins.get("index-url") in ("command line", "PIP_INDEX_URL"):
        given += ["--index-url", url]
    given += [arg for extra in given_extras for arg in ("--extra-index-url", extra)]
    given += [arg for link in find_links for arg in ("--find-links", link)]
    given += ["--offline"] if offline else []
    given += ["--index-strategy", strategy] if origins.get("index-strategy") == "command line" else []
    given += ["--exclude-newer", newer_text] if newer_text and origins.get("exclude-newer") == "command line" else []
    given += [arg for pair in exclude_newer_package for arg in ("--exclude-newer-package", pair)]
    return given
