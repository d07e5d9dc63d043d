"""Generate a seeded universe of N small packages with a realistic dependency graph, its wheels, and a project using them.

The benchmarks' synthetic suites (benchmarks/suites.py) are built from it, and tests/e2e/test_bench.py
checks it; it lives in the test harness so that benchmarks depend on tests/support, never the reverse.

The universe (`make_universe`) is a layered graph: leaves, low-level libraries, mid-level
libraries and top-level packages; each package depends on a few packages of lower layers,
drawn with a popularity bias so a handful of deep dependencies are shared by many (like
`six` or `typing-extensions`). Some packages have two or three versions, some declare an
extra (`fast`) that a few dependents ask for, and some requirements carry markers (true
ones, and false ones such as `sys_platform == "win32"`). Everything is a pure function of
(N, seed).

The project (`project_files`) is an Airflow-like tree: pyproject.toml with hatchling and
static core dependencies, `hatch_build.py` (a hatchling metadata hook that computes the
optional dependencies: a `plugins` list, one extra per in-tree provider read from
`providers/*/provider.yaml`, and `all`), and two providers. Installing it with
`--extra all` pulls in exactly the N packages. The scenarios (`SCENARIOS`) are edits of
that tree: each returns the files to write over the base tree.
"""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement

from tests.support.wheels import build_wheel, module_name

GENERATOR_VERSION = "1"
DEFAULT_SEED = 20241
PROJECT_NAME = "synapp"
EXTRA = "all"  # the extra every tool installs

# Fixed timestamp of the base tree's files and folders, so restoring it leaves the mtimes
# (which uv and incrinstall's fast path both look at) exactly as they were.
BASE_MTIME = 1_700_000_000

SCENARIOS = (
    "noop",
    "bump",
    "add",
    "remove",
    "provider",
    "hatch-deps",
    "hatch-nodeps",
)

SCENARIO_TEXT = {
    "baseline": "a new environment from the base tree (incrinstall baseline vs a full uv install)",
    "noop": "nothing changed",
    "bump": "one requirement's version range moved up (1 package upgraded)",
    "add": "one requirement added that brings 3 new transitive dependencies (4 installed)",
    "remove": "one requirement removed whose 3 private dependencies become orphans (4 removed)",
    "provider": "a provider.yaml dependency replaced by another (1 installed, 1 removed)",
    "hatch-deps": "hatch_build.py adds a plugin that has one dependency (2 installed)",
    "hatch-nodeps": "hatch_build.py edited without changing any dependency",
}


@dataclass
class Package:
    name: str
    versions: list[str]  # ascending; every version has the same requirements
    requires: list[str] = field(default_factory=list)  # Requires-Dist values (may carry markers)
    extras: dict[str, list[str]] = field(default_factory=dict)
    requires_python: str | None = None
    layer: int = 0


@dataclass
class Universe:
    """N installed-at-baseline packages, the spares that scenarios bring in, and the project's roots."""

    n: int
    seed: int
    packages: dict[str, Package]  # every package the index serves (members and spares)
    members: list[str]  # the N packages a baseline installs
    core: list[str]  # pyproject.toml [project.dependencies]
    plugins: list[str]  # hatch_build.py PLUGINS
    providers: dict[str, list[str]]  # provider id -> provider.yaml dependencies
    # what the scenarios touch
    bump_name: str = ""
    remove_name: str = ""
    remove_orphans: list[str] = field(default_factory=list)
    provider_old: str = ""
    provider_new: str = ""
    add_name: str = ""
    add_new: list[str] = field(default_factory=list)
    plugin_new: str = ""
    plugin_new_dep: str = ""

    @property
    def prefix(self) -> str:
        return f"n{self.n}"


def _version_sets(rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.55:
        return ["1.0.0"]
    if roll < 0.85:
        return ["1.0.0", "1.2.0"]
    return ["0.9.0", "1.0.0", "2.0.0"]


def _spec_for(rng: random.Random, target: Package) -> str:
    low, latest = target.versions[0], target.versions[-1]
    roll = rng.random()
    if roll < 0.6:
        return f">={low}"
    if roll < 0.85:
        return f">={low},<{int(latest.split('.')[0]) + 1}"
    return ""


def make_universe(n: int, seed: int = DEFAULT_SEED) -> Universe:
    """A deterministic universe of `n` member packages (n >= 40) plus the scenarios' spares."""
    if n < 40:
        raise ValueError("the synthetic universe needs at least 40 packages")
    rng = random.Random(f"{seed}:{n}:{GENERATOR_VERSION}")
    p = f"n{n}"
    packages: dict[str, Package] = {}

    def add(name: str, versions: list[str], requires=(), layer: int = 0, **kw) -> Package:
        pkg = Package(name, versions, list(requires), layer=layer, **kw)
        packages[name] = pkg
        return pkg

    # Reserved members with a known shape: the removable root and its private subtree, the
    # bumped package, the provider dependency that gets swapped out.
    reserved = 6
    regular = [f"{p}-pkg-{i:04d}" for i in range(n - reserved)]
    cut = [int(len(regular) * f) for f in (0.35, 0.65, 0.85)]
    layers = [regular[:cut[0]], regular[cut[0]:cut[1]], regular[cut[1]:cut[2]], regular[cut[2]:]]
    fanout = {1: (1, 3), 2: (2, 5), 3: (3, 8)}
    for layer_no, names in enumerate(layers):
        for name in names:
            kw = {"requires_python": ">=3.8"} if rng.random() < 0.3 else {}
            add(name, _version_sets(rng), layer=layer_no, **kw)

    # Extras on some low/mid-level packages.
    for name in layers[1] + layers[2]:
        if rng.random() < 0.06:
            pkg = packages[name]
            lower = [x for layer in layers[:pkg.layer] for x in layer]
            picks = rng.sample(lower, k=min(len(lower), rng.randint(1, 2)))
            pkg.extras["fast"] = [f"{t}{_spec_for(rng, packages[t])}" for t in picks]

    # Edges: only to lower layers, biased to popular (low-index) packages of each layer.
    for layer_no in (1, 2, 3):
        lower = [x for layer in layers[:layer_no] for x in layer]
        weights = [1.0 / (i + 1) ** 0.8 for i in range(len(lower))]
        for name in layers[layer_no]:
            k = rng.randint(*fanout[layer_no])
            targets: list[str] = []
            while len(targets) < min(k, len(lower)):
                t = rng.choices(lower, weights)[0]
                if t not in targets:
                    targets.append(t)
            for t in targets:
                tp = packages[t]
                req = t
                if tp.extras and rng.random() < 0.3:
                    req += "[fast]"
                req += _spec_for(rng, tp)
                roll = rng.random()
                if roll < 0.08:
                    req += '; python_version >= "3.8"'
                elif roll < 0.11:
                    # A requirement that never applies here: its target must not count as pulled in by it.
                    req += rng.choice(['; sys_platform == "win32"', '; python_version < "3.8"'])
                packages[name].requires.append(req)

    # Every library has a user: a package of a lower layer that nothing requires yet is
    # required by a random package of a higher layer (so roots stay a minority).
    required = set()
    for pkg in packages.values():
        for req in pkg.requires:
            required.add(req.split(";")[0].split("[")[0].split(">")[0].split("<")[0].strip())
    for layer_no in (0, 1, 2):
        higher = [x for layer in layers[layer_no + 1:] for x in layer]
        for name in layers[layer_no]:
            if name not in required:
                packages[rng.choice(higher)].requires.append(f"{name}{_spec_for(rng, packages[name])}")

    # The reserved members.
    orphans = [f"{p}-private-{i}" for i in (1, 2, 3)]
    leaf = layers[0][0]  # the most popular leaf: the private subtree also leans on it
    add(orphans[2], ["1.0.0"], [f"{leaf}>=1.0.0"], layer=0)
    add(orphans[1], ["1.0.0"], [], layer=0)
    add(orphans[0], ["1.0.0", "1.1.0"], [f"{orphans[2]}>=1.0"], layer=1)
    remove_name = f"{p}-removable"
    add(remove_name, ["1.0.0"], [f"{orphans[0]}>=1.0", orphans[1]], layer=2)
    bump_name = f"{p}-bumpable"
    add(bump_name, ["1.0.0", "1.1.0"], [f"{layers[1][0]}>=1.0.0", layers[0][1]], layer=3)
    provider_old = f"{p}-provider-dep-old"
    add(provider_old, ["1.0.0"], [f"{leaf}>=1.0.0"], layer=1)

    # Spares: served by the index, installed only by some scenarios.
    add_name = f"{p}-added"
    add_new = [f"{p}-added-dep-{i}" for i in (1, 2, 3)]
    add(add_new[2], ["1.0.0"], [f"{layers[0][2]}>=1.0.0"])
    add(add_new[1], ["1.0.0"], [f"{add_new[2]}>=1.0"])
    add(add_new[0], ["1.0.0"], [])
    add(add_name, ["1.0.0", "1.1.0"], [f"{add_new[0]}>=1.0", add_new[1], f"{layers[1][1]}>=1.0.0"])
    provider_new = f"{p}-provider-dep-new"
    add(provider_new, ["1.0.0"], [f"{leaf}>=1.0.0"])
    plugin_new_dep = f"{p}-plugin-new-dep"
    add(plugin_new_dep, ["1.0.0"], [])
    plugin_new = f"{p}-plugin-new"
    add(plugin_new, ["1.0.0"], [f"{plugin_new_dep}>=1.0", f"{layers[0][3]}>=1.0.0"])

    # Roots: providers and plugins take mid/top packages; everything else at the top is core.
    upper = layers[2] + layers[3]
    pool = rng.sample(upper, k=min(len(upper), 24))
    alpha, beta, plugins = pool[:8], pool[8:16], pool[16:24]

    def root_req(name: str) -> str:
        spec = _spec_for(rng, packages[name])
        return f"{name}{spec}"

    providers = {
        "alpha": [root_req(x) for x in alpha],
        "beta": [root_req(x) for x in beta] + [f"{provider_old}>=1.0"],
    }
    plugin_reqs = [root_req(x) for x in plugins]
    taken = set(pool)
    core = [root_req(x) for x in layers[3] if x not in taken]
    core.append(f"{bump_name}>=1.0,<1.1")
    core.append(f"{remove_name}>=1.0")

    members_set = _closure(packages, core + plugin_reqs + [r for deps in providers.values() for r in deps])
    # Whatever the graph does not reach (false markers only, or no dependents) becomes a core root.
    for name in regular:
        if name not in members_set:
            core.append(root_req(name))
    members_set = _closure(packages, core + plugin_reqs + [r for deps in providers.values() for r in deps])
    members = sorted(members_set)
    assert len(members) == n, (len(members), n)
    core.sort()

    return Universe(
        n=n, seed=seed, packages=packages, members=members, core=core, plugins=plugin_reqs, providers=providers,
        bump_name=bump_name, remove_name=remove_name, remove_orphans=orphans, provider_old=provider_old,
        provider_new=provider_new, add_name=add_name, add_new=add_new, plugin_new=plugin_new,
        plugin_new_dep=plugin_new_dep,
    )


def _closure(packages: dict[str, Package], roots: list[str]) -> set[str]:
    """Names reached from `roots` through requirements whose markers hold on Python 3.8+ (not Windows)."""
    env = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
           "platform_system": "Linux", "os_name": "posix", "extra": ""}
    seen: set[str] = set()
    seen_extras: set[tuple[str, str]] = set()
    todo = list(roots)
    while todo:
        req = Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        pkg = packages[req.name]
        if req.name not in seen:
            seen.add(req.name)
            todo.extend(pkg.requires)
        for extra in req.extras:
            if (req.name, extra) not in seen_extras:
                seen_extras.add((req.name, extra))
                todo.extend(pkg.extras.get(extra, []))
    return seen


def expected_set(universe: Universe, scenario: str) -> dict[str, str]:
    """{name: version} a correct install of the project after `scenario` holds (latest allowed versions).

    An independent oracle for the generator's own test; the benchmark compares to `uv pip compile`.
    """
    core = list(universe.core)
    plugins = list(universe.plugins)
    providers = {k: list(v) for k, v in universe.providers.items()}
    bump_to_latest = False
    if scenario == "bump":
        bump_to_latest = True
    elif scenario == "add":
        core.append(f"{universe.add_name}>=1.0")
    elif scenario == "remove":
        core = [r for r in core if not r.startswith(universe.remove_name)]
    elif scenario == "provider":
        providers["beta"] = [r for r in providers["beta"] if not r.startswith(universe.provider_old)]
        providers["beta"].append(f"{universe.provider_new}>=1.0")
    elif scenario == "hatch-deps":
        plugins.append(f"{universe.plugin_new}>=1.0")
    names = _closure(universe.packages, core + plugins + [r for deps in providers.values() for r in deps])
    out = {}
    for name in names:
        versions = universe.packages[name].versions
        out[name] = versions[0] if (name == universe.bump_name and not bump_to_latest) else versions[-1]
    return out


# -- wheels ---------------------------------------------------------------------------------


def _module_text(name: str, version: str) -> str:
    # A little code per wheel, so an install copies a realistic handful of bytes.
    body = "\n".join(f"def f{i}(x):\n    return x * {i} + {len(name)}\n" for i in range(40))
    return f'"""{name} {version}: generated for incrinstall benchmarks."""\n\nVERSION = "{version}"\n\n{body}'


def build_index_folder(universe: Universe, folder: str | Path, *, real_wheels: str | Path | None = None) -> Path:
    """Write every wheel of the universe into `folder` (once: a marker records the inputs), plus the real ones."""
    folder = Path(folder)
    marker = folder / ".synthetic.json"
    key = {"n": universe.n, "seed": universe.seed, "generator": GENERATOR_VERSION,
           "real_wheels": sorted(os.listdir(real_wheels)) if real_wheels else []}
    if marker.is_file() and json.loads(marker.read_text()) == key:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.whl"):
        old.unlink()
    for pkg in universe.packages.values():
        for version in pkg.versions:
            build_wheel(folder, pkg.name, version, requires_dist=pkg.requires, extras=pkg.extras or None,
                        requires_python=pkg.requires_python,
                        files={f"{module_name(pkg.name)}/core.py": _module_text(pkg.name, version)})
    if real_wheels:
        for whl in Path(real_wheels).glob("*.whl"):
            target = folder / whl.name
            if not target.exists():
                os.link(whl, target) if _same_device(whl, folder) else target.write_bytes(whl.read_bytes())
    marker.write_text(json.dumps(key))
    return folder


def _same_device(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


# -- the project ----------------------------------------------------------------------------


def _toml_list(items: list[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f"{indent}{json.dumps(x)},\n" for x in items) + "]"


def pyproject_text(core: list[str]) -> str:
    return f"""\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{PROJECT_NAME}"
version = "1.0.0"
description = "A synthetic project for incrinstall benchmarks"
requires-python = ">=3.9"
# Core dependencies are static; the optional ones are computed by hatch_build.py.
dynamic = ["optional-dependencies"]
dependencies = {_toml_list(core)}

[tool.hatch.build.targets.wheel]
packages = ["{PROJECT_NAME}"]

[tool.hatch.metadata.hooks.custom]
path = "hatch_build.py"
"""


HATCH_TEMPLATE = '''\
"""Metadata hook of {project}: computes its optional dependencies.

`plugins` is the list below; each in-tree provider (providers/*/provider.yaml) becomes an
extra with its dependencies; `all` is everything.{note}
"""

from __future__ import annotations

from pathlib import Path

from hatchling.metadata.plugin.interface import MetadataHookInterface

PLUGINS = {plugins}
{extra_code}

def provider_dependencies(root: Path) -> dict[str, list[str]]:
    """The `dependencies:` list of every provider.yaml (simple YAML: the build env has no parser)."""
    found: dict[str, list[str]] = {{}}
    for yaml_file in sorted(root.glob("providers/*/provider.yaml")):
        deps: list[str] = []
        in_list = False
        for line in yaml_file.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not line.startswith(" "):
                in_list = line.rstrip() == "dependencies:"
            elif in_list and line.strip().startswith("- "):
                deps.append(line.strip()[2:].strip().strip("\\"'"))
        found[yaml_file.parent.name] = deps
    return found


class CustomMetadataHook(MetadataHookInterface):
    PLUGIN_NAME = "custom"

    def update(self, metadata: dict) -> None:
        optional = {{"plugins": list(PLUGINS)}}
        optional.update(provider_dependencies(Path(self.root)))
        optional["all"] = sorted({{req for reqs in optional.values() for req in reqs}})
        metadata["optional-dependencies"] = optional
'''


def hatch_text(plugins: list[str], *, note: str = "", extra_code: str = "") -> str:
    return HATCH_TEMPLATE.format(project=PROJECT_NAME, plugins=_toml_list(plugins), note=note,
                                 extra_code=extra_code)


def provider_text(provider_id: str, deps: list[str]) -> str:
    lines = [f"package-name: {PROJECT_NAME}-provider-{provider_id}", f"name: {provider_id.title()}",
             "description: A synthetic in-tree provider.", "state: ready", "versions:", "  - 1.0.0", "",
             "dependencies:"]
    lines += [f"  - {d}" for d in deps]
    return "\n".join(lines) + "\n"


def project_files(universe: Universe, scenario: str = "noop") -> dict[str, str]:
    """Every file of the project tree after `scenario` (relpath -> text)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    core = list(universe.core)
    plugins = list(universe.plugins)
    providers = {k: list(v) for k, v in universe.providers.items()}
    note, extra_code = "", ""
    if scenario == "bump":
        core = [f"{universe.bump_name}>=1.1" if r.startswith(universe.bump_name) else r for r in core]
    elif scenario == "add":
        core = sorted(core + [f"{universe.add_name}>=1.0"])
    elif scenario == "remove":
        core = [r for r in core if not r.startswith(universe.remove_name)]
    elif scenario == "provider":
        providers["beta"] = [f"{universe.provider_new}>=1.0" if r.startswith(universe.provider_old) else r
                             for r in providers["beta"]]
    elif scenario == "hatch-deps":
        plugins.append(f"{universe.plugin_new}>=1.0")
    elif scenario == "hatch-nodeps":
        note = "\n\nPlugins are listed by name; their order does not matter."
        extra_code = '\n\ndef describe() -> str:\n    return f"{len(PLUGINS)} plugins"\n'
    files = {
        "pyproject.toml": pyproject_text(core),
        "hatch_build.py": hatch_text(plugins, note=note, extra_code=extra_code),
        f"{PROJECT_NAME}/__init__.py": '"""A synthetic project."""\n\n__version__ = "1.0.0"\n',
        "README.md": f"# {PROJECT_NAME}\n\nGenerated by tests/support/synthetic.py.\n",
    }
    for provider_id, deps in providers.items():
        files[f"providers/{provider_id}/provider.yaml"] = provider_text(provider_id, deps)
    return files


def changed_files(universe: Universe, scenario: str) -> dict[str, str]:
    """The files `scenario` rewrites, relative to the base tree."""
    base = project_files(universe, "noop")
    return {rel: text for rel, text in project_files(universe, scenario).items() if base.get(rel) != text}


def write_tree(files: dict[str, str], root: str | Path, *, mtime: int | None = BASE_MTIME) -> Path:
    """Write `files` under `root`; with `mtime`, set it on every file and folder (a reproducible base)."""
    root = Path(root)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if mtime is not None:
        for folder, _dirs, names in os.walk(root, topdown=False):
            for name in names:
                os.utime(os.path.join(folder, name), (mtime, mtime))
            os.utime(folder, (mtime, mtime))
    return root


def apply_scenario(universe: Universe, scenario: str, project_dir: str | Path) -> list[str]:
    """Edit a base tree in place as `scenario` does (files get the current time); return the relpaths."""
    changes = changed_files(universe, scenario)
    for rel, text in changes.items():
        Path(project_dir, rel).write_text(text, encoding="utf-8")
    return sorted(changes)


def main(argv: list[str] | None = None) -> int:
    """Print a universe's shape: `python -m tests.support.synthetic N [SEED]`."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 100
    seed = int(args[1]) if len(args) > 1 else DEFAULT_SEED
    u = make_universe(n, seed)
    wheels = sum(len(p.versions) for p in u.packages.values())
    edges = sum(len(p.requires) for p in u.packages.values())
    fan_in: dict[str, int] = {}
    for pkg in u.packages.values():
        for req in pkg.requires:
            fan_in[Requirement(req).name] = fan_in.get(Requirement(req).name, 0) + 1
    top = sorted(fan_in.items(), key=lambda kv: -kv[1])[:5]
    print(f"N={n} seed={seed}: {len(u.packages)} packages served ({wheels} wheels), {len(u.members)} members, "
          f"{edges} requirements, {len(u.core)} core roots, {len(u.plugins)} plugins, "
          f"{sum(len(v) for v in u.providers.values())} provider deps, "
          f"{sum(1 for p in u.packages.values() if p.extras)} packages with extras; most depended on: {top}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
