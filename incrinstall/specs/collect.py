"""Collect a project tree's root requirements from every spec source, with provenance and the spec fingerprint.

`collect()` runs its phases in order: read the tree (the workspace, provider.yaml files, requirements
files), settle which providers are packages of the tree, ask the build backend where the metadata is
not static (setup.py, setup.cfg, Poetry, dynamic fields, hatchling hooks; as pip and uv do), make a
node of each package the tree provides, seed the expansion with what the selection asks for, and
expand (expand.py): a requirement on a tree package is satisfied by the tree, so its own
dependencies are collected instead.

Extras of in-tree providers (`additional-extras` in provider.yaml) are included for a
selected provider when `--all-extras` is given, when `--extra NAME` names them, or when
a requirement asks for them (`apache-airflow-providers-x[NAME]`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from packaging.requirements import Requirement

from incrinstall.common import recipe_manifest
from incrinstall.common.errors import SpecError
from incrinstall.common.fingerprint import fingerprint
from incrinstall.common.names import canonical_name
from incrinstall.specs import cache, pyproject, reqfiles
from incrinstall.specs import providers as provider_specs
from incrinstall.specs.backend_metadata import run_hook
from incrinstall.specs.expand import Expander, Known, TreeNode, local_package
from incrinstall.specs.model import Declared, ProjectMetadata, RootRequirement, Selection, SpecSet
from incrinstall.specs.providers import Provider
from incrinstall.specs.pyproject import LEGACY_FILES, PYPROJECT, Project, Workspace

if TYPE_CHECKING:
    from incrinstall.common.config import IndexConfig

_DYNAMIC_DEPS = frozenset({"dependencies", "optional-dependencies"})


class HookOutput(Protocol):
    """What collect() reads of a hook runner's answer (specs.backend_metadata.HookResult is one)."""

    requires_dist: list[str]  # Requires-Dist values, markers kept
    provides_extra: list[str]
    files: list[str]  # relpaths the backend read
    metadata_file: str  # the file the requirements are credited to ("": pyproject.toml)
    metadata_path: str  # absolute path of the METADATA text the backend wrote ("" when none is kept)
    version: str  # the Version computed ("" when none)
    wheel_path: str  # the editable wheel the backend built, when it built one ("" when not)
    name: str  # the Name written ("" when none)
    folders: list[str]  # folders whose names the answer depends on (relpaths, "." = the project folder)
    vcs: list[str]  # version-control tools the backend ran ("git", "hg")


class HookRunner(Protocol):
    """The build-backend hook collect() runs for metadata that is not static: specs.backend_metadata.run_hook,
    or a test's stand-in.

    Called with the project folder, the target's markers and the key material of its cache;
    `python`, `index` and `build` are passed only when set.
    """

    def __call__(self, project_dir: Path, markers: dict[str, str], cache_key_material: str, /, *,
                 python: str = ..., index: IndexConfig = ..., build: bool = ...) -> HookOutput: ...


def collect(project_dir: str | Path, selection: Selection, markers: dict[str, str], *,
            python_full_version: str | None = None, python: str | None = None, index: IndexConfig | None = None,
            hook_runner: HookRunner | None = None) -> SpecSet:
    """The root requirements and constraints the tree's spec files ask for, evaluated for `markers`.

    `python` (the target interpreter) and `index` (an IndexConfig) are handed to the build
    backend when the metadata is not static; `hook_runner` replaces
    incrinstall.specs.backend_metadata.run_hook (tests). The fingerprint equals
    `fingerprint(project_dir, specset.files, selection, markers)`, so the no-op path can
    recompute it from the recorded files alone. `python_full_version` is accepted for
    symmetry with the other steps; the markers already carry it.
    """
    project_dir = Path(project_dir).resolve()
    if not project_dir.is_dir():
        raise SpecError("project folder not found", where=str(project_dir))
    env = dict(markers)
    if hook_runner is None:  # (an injected runner is a test's: its answers are not the backend's to cache)
        cached = cache.load(project_dir, selection, env)
        if cached is not None:
            return cached
    tree = _read_tree(project_dir, selection, env)
    chosen = _choose_providers(tree, selection)
    # The slow part last, so that cheap errors surface first.
    asked = _ask_backends(project_dir, tree.workspace, env, hook_runner or run_hook, python=python, index=index)
    packages = _tree_packages(project_dir, tree.workspace, chosen.yaml_providers, selection)
    expander = Expander(packages.nodes, env)
    local = [local_package(name, known, packages.nodes[name], expander) for name, known in packages.versions.items()]
    _seed(expander, project_dir, tree, chosen, packages, selection)
    requirements = expander.run()
    constraints = Expander({}, env)
    constraints.queue.extend(tree.reqs.constraints)
    files = sorted({*tree.files, *asked.files})
    root = tree.workspace.root
    specset = SpecSet(
        project_dir=str(project_dir),
        project_name=root.name if root is not None else None,
        requirements=requirements,
        constraints=constraints.run(),
        files=files,
        fingerprint=fingerprint(project_dir, files, selection, env, contents=tree.reqs.url_contents),
        selection=selection,
        local_packages=local,
        reached=sorted({name for name, _extra in expander.taken}),
        scanned_dirs=sorted({*tree.scanned, *asked.folders}),
        notes=tree.notes + chosen.notes,
        project_metadata=_project_metadata(root) if root is not None and root.name else None,
        vcs=sorted(asked.vcs),
    )
    _refuse_unsupported_urls(specset)
    if hook_runner is None:
        cache.store(specset, env)
    return specset


# -- reading the tree --------------------------------------------------------------------------


@dataclass
class _Tree:
    """The tree's spec files as read, before any backend runs (relpaths from the project folder)."""

    workspace: Workspace
    providers: list[Provider]  # the provider.yaml files that may be providers of the tree
    reqs: reqfiles.ReqFiles  # the -r and -c files
    files: list[str]  # every spec file read
    scanned: list[str]  # the folders whose listing decided which spec files exist
    notes: list[str]  # what was read but ignored, and why


def _read_tree(project_dir: Path, selection: Selection, markers: dict[str, str]) -> _Tree:
    """The workspace, provider.yaml and requirements files of the tree, and the files its globs name."""
    workspace = pyproject.read_workspace(project_dir)
    root = workspace.root
    files: list[str] = list(workspace.files)
    # A recipe folder's manifest is one of its spec files (its roots decide the editable install), and it keeps
    # the folder's cached collections apart from the full tree's at the same path (a Docker WORKDIR).
    files += recipe_manifest.spec_files(project_dir)
    if (project_dir / "uv.toml").is_file():
        files.append("uv.toml")  # its index settings change the resolution: an edit must defeat the no-op
    scanned: list[str] = []
    provider_files = provider_specs.find_provider_files(project_dir, scanned)
    notes: list[str] = []
    if not workspace.members:
        # Without a workspace, a provider.yaml is a provider of the tree only in its providers folder
        # (the Airflow 2 layout) or where [tool.incrinstall] provider-paths says: a stray one
        # (src/pkg/bundles/provider.yaml) must not stand in for a package from the index.
        patterns = root.provider_globs if root is not None else []
        stray = [rel for rel in provider_files if not provider_specs.counts_as_provider(project_dir, rel, patterns)]
        notes += [f"{rel}: not a provider of this tree (not under a providers/ folder of the tree or of a "
                  "top-level package, nor in [tool.incrinstall] provider-paths); ignored" for rel in stray]
        provider_files = [rel for rel in provider_files if rel not in stray]
    providers = provider_specs.read_providers(project_dir, provider_files, markers)
    files += provider_files
    reqs = reqfiles.read(project_dir, selection.requirement_files, selection.constraint_files)
    files += reqs.files
    if root is not None:
        files += _glob_files(project_dir, root.spec_globs)
        for pattern in [*root.members, *root.exclude, *root.spec_globs]:
            scanned += _glob_scanned_dirs(project_dir, pattern)
    return _Tree(workspace, providers, reqs, files, scanned, notes)


def _glob_files(project_dir: Path, patterns: list[str]) -> list[str]:
    out = []
    for pattern in patterns:
        for hit in glob.glob(pattern, root_dir=project_dir, recursive=True):
            if os.path.isfile(project_dir / hit):
                out.append(Path(hit).as_posix())
    return out


def _glob_scanned_dirs(project_dir: Path, pattern: str) -> list[str]:
    """The folders whose listing a glob depends on: its literal base, and everything below if it goes deeper."""
    parts = Path(pattern).as_posix().split("/")
    literal = []
    for part in parts:
        if glob.has_magic(part):
            break
        literal.append(part)
    base = "/".join(literal[:-1] if len(literal) == len(parts) else literal) or "."
    out = [base]
    if len(parts) - len(literal) > 1 or "**" in parts:
        for folder, dirs, _ in os.walk(project_dir / base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            out += [Path(os.path.relpath(os.path.join(folder, d), project_dir)).as_posix() for d in dirs]
    return out


# -- which providers are packages of the tree ----------------------------------------------------


@dataclass
class _Providers:
    yaml_providers: list[Provider]  # packages of the tree by their provider.yaml alone (no workspace)
    chosen: list[Provider]  # seeded: the selected providers (every active one by default)
    chosen_members: list[Provider]  # workspace members selected by `--provider ID`
    notes: list[str] = field(default_factory=list)


def _choose_providers(tree: _Tree, selection: Selection) -> _Providers:
    """A provider.yaml is a package of the tree only where the tree builds it.

    Beside a workspace member's pyproject.toml (which then declares its dependencies), or in a tree
    without a workspace, in its providers folders (the Airflow 2 layout, where the root builds every provider).
    """
    member_dirs = {m.path for m in tree.workspace.members}
    notes: list[str] = []
    if member_dirs:
        member_providers = [p for p in tree.providers if p.path in member_dirs]
        yaml_providers: list[Provider] = []
        notes += [f"{p.yaml}: not a package of the tree (no workspace member builds it); ignored"
                  for p in tree.providers if p.path not in member_dirs]
    else:
        member_providers, yaml_providers = [], tree.providers
    chosen = _select_providers(yaml_providers + member_providers, selection.providers)
    # `--provider ID` of a workspace member selects that package; by default members are reached
    # like any other (through requirements), never seeded by their provider.yaml.
    chosen_members = [p for p in chosen if p in member_providers] if selection.providers else []
    chosen = [p for p in chosen if p not in member_providers]
    return _Providers(yaml_providers, chosen, chosen_members, notes)


def _select_providers(providers: list[Provider], wanted: tuple[str, ...]) -> list[Provider]:
    active = [p for p in providers if p.skipped is None]
    if not wanted:
        return active
    chosen: list[Provider] = []
    for ident in wanted:
        match = [p for p in providers if ident in (p.id, p.folder_id, p.name) or canonical_name(ident) == p.name]
        if not match:
            valid = ", ".join(sorted(p.id for p in active)) or "(none)"
            raise SpecError(f"unknown provider {ident!r}; valid providers: {valid}", where="--provider")
        for p in match:
            if p.skipped is not None:
                raise SpecError(f"provider {ident!r} is not part of the tree for this target: {p.skipped}",
                                where=p.yaml)
            if p not in chosen:
                chosen.append(p)
    return chosen


# -- asking the build backends -------------------------------------------------------------------


@dataclass
class _Asked:
    """What asking the backends added to the collection (relpaths from the project dir)."""

    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    vcs: set[str] = field(default_factory=set)


def _ask_backends(project_dir: Path, workspace: Workspace, markers: dict[str, str], hook_runner: HookRunner, *,
                  python: str | None, index: IndexConfig | None) -> _Asked:
    """Each project of the workspace whose metadata is not static, completed by its backend's answer."""
    asked = _Asked()
    for project in _projects(workspace):
        if project.needs_backend:
            one = _run_hook(project_dir, project, markers, hook_runner, python=python, index=index)
            asked.files += one.files
            asked.folders += one.folders
            asked.vcs.update(one.vcs)
    return asked


def _projects(workspace: Workspace) -> list[Project]:
    """The root project (when there is a pyproject.toml, setup.py or setup.cfg) and every workspace member."""
    return ([workspace.root] if workspace.root is not None else []) + workspace.members


def _run_hook(project_dir: Path, project: Project, markers: dict[str, str], hook_runner: HookRunner, *,
              python: str | None, index: IndexConfig | None) -> _Asked:
    """Let the build backend say what pyproject.toml does not; what it looked at (relative to project_dir)."""
    folder = project_dir / project.path
    prefix = "" if project.path == "." else project.path + "/"
    own = [rel[len(prefix):] for rel in project.own_files]
    if (folder / "hatch_build.py").is_file():
        own.append("hatch_build.py")
    material = fingerprint(folder, own, {}, {}, extra=recipe_manifest.cache_tag(project_dir))
    backend: dict[str, Any] = {k: v for k, v in (("python", python), ("index", index)) if v is not None}
    # hatchling runs build hooks (which may add dependencies) only when it builds the wheel.
    if project.build_hooks and (not project.declared or project.dynamic & _DYNAMIC_DEPS):
        backend["build"] = True
    result = hook_runner(folder, markers, material, **backend)
    if project.declared and "version" in project.dynamic:
        project.version = result.version or None
        if project.version is None:
            raise SpecError("the build backend computed no Version for the dynamic version",
                            where=project.pyproject)
    hook_files = pyproject.apply_hook_result(project, result, project_dir, markers=markers)
    label = prefix + (result.metadata_file or "pyproject.toml")
    if (project_dir / label).is_file():
        hook_files.append(label)
    hook_files += [rel for rel in project.own_files if (project_dir / rel).is_file()]
    folders = [project.path if rel == "." else prefix + rel for rel in result.folders]
    return _Asked(sorted(set(hook_files)), sorted(set(folders)), set(result.vcs))


# -- the packages the tree provides ----------------------------------------------------------------


@dataclass
class _TreePackages:
    nodes: dict[str, TreeNode]
    versions: dict[str, Known]
    paths: dict[str, str]  # absolute folder -> node name


def _tree_packages(project_dir: Path, workspace: Workspace, yaml_providers: list[Provider],
                   selection: Selection) -> _TreePackages:
    """A node for each package the tree provides: its projects (with the backends' answers), then its providers."""
    packages = _TreePackages({}, {}, {})
    for project in _projects(workspace):
        if project.name is None:
            continue
        _add_node(packages.nodes, project.name, project.base, project.extras,
                  project.extras_where or project.pyproject)
        packages.versions.setdefault(project.name, (project.version, project.path, project.pyproject))
        packages.paths[str((project_dir / project.path).resolve())] = project.name
    for p in yaml_providers:
        if p.skipped is not None:
            continue
        base = p.dependencies + (p.devel if selection.provider_devel else [])
        _add_node(packages.nodes, p.name, base, p.extras, p.yaml)
        packages.versions.setdefault(p.name, (p.version, p.path, p.yaml))
        packages.paths.setdefault(str((project_dir / p.path).resolve()), p.name)
    return packages


def _add_node(nodes: dict[str, TreeNode], name: str, base: list[Declared], extras: dict[str, list[Declared]],
              label: str) -> None:
    # A workspace member that also has a provider.yaml is one package: merge what both declare.
    node = nodes.get(name)
    if node is None:
        nodes[name] = TreeNode(name, list(base), {k: list(v) for k, v in extras.items()}, label)
        return
    node.base.extend(base)
    for key, items in extras.items():
        node.extras.setdefault(key, []).extend(items)


# -- the seeds: what the selection asks for ----------------------------------------------------------


def _seed(expander: Expander, project_dir: Path, tree: _Tree, chosen: _Providers, packages: _TreePackages,
          selection: Selection) -> None:
    """Queue the seeds, in the order their requirements are listed.

    The selected projects, their extras and groups, the providers, then requirements files. The
    selection follows `uv sync`: the root project by default (every member for a virtual root),
    `--all-packages`, or `--package NAME`.
    """
    root, members, nodes = tree.workspace.root, tree.workspace.members, packages.nodes
    selected = _select_projects(root, members, selection, chosen.chosen_members)
    for project in selected:
        if project.name is not None:
            expander.take(project.name, None, project.pyproject)
    provider_extras = {e for p in chosen.chosen for e in p.extras}
    wanted = [canonical_name(e) for e in selection.extras]
    declared = {e for project in selected if project.name for e in nodes[project.name].extras}
    for extra in wanted:
        if extra not in declared and extra not in provider_extras:
            valid = ", ".join(sorted(declared | provider_extras)) or "(none)"
            labels = [nodes[project.name].label for project in selected if project.name]
            where = labels[0] if labels else (root.pyproject if root else "--extra")  # no file asked for it
            raise SpecError(f"unknown extra {extra!r}; valid extras: {valid}", where=where)
    for project in selected:
        if project.name is None:
            continue
        node = nodes[project.name]
        for extra in node.extras if selection.all_extras else [e for e in wanted if e in node.extras]:
            expander.take(node.name, extra, node.label)
    _seed_groups(expander, project_dir, root, members, selected, selection)
    for p in chosen.chosen:
        expander.take(p.name, None, p.yaml)
        for extra in p.extras:
            if selection.all_extras or extra in wanted:
                expander.take(p.name, extra, p.yaml)
    for item in tree.reqs.requirements:
        if isinstance(item, reqfiles.LocalRef):
            name = packages.paths.get(item.path)
            if name is None:
                continue  # a folder that is not one of the tree's packages: nothing to resolve from an index
            extras = f"[{','.join(item.extras)}]" if item.extras else ""
            expander.queue.append(Declared(name + extras, item.source, "requirements"))
        else:
            expander.queue.append(item)


def _seed_groups(expander: Expander, project_dir: Path, root: Project | None, members: list[Project],
                 selected: list[Project], selection: Selection) -> None:
    """The `--group` groups (PEP 735), from the projects uv takes them from."""
    if root is None:
        group_owners = []
    elif selection.packages:
        group_owners = selected
    elif selection.all_packages or root.name is None:
        group_owners = [root, *members]  # uv takes a group from every member that has it
    else:
        group_owners = [root]
    for group in selection.groups:
        if root is None:
            raise SpecError(f"unknown dependency group {group!r}: there is no pyproject.toml", where=str(project_dir))
        owners = [project for project in group_owners if canonical_name(group) in project.groups]
        if not owners:
            valid = ", ".join(sorted({g for project in group_owners for g in project.groups})) or "(none)"
            first = group_owners[0] if group_owners else root
            raise SpecError(f"unknown dependency group {group!r}; valid groups: {valid}",
                            where=first.groups_where or first.pyproject)
        for project in owners:
            expander.queue.extend(pyproject.group_requirements(project, group,
                                                               where=project.groups_where or project.pyproject))


def _select_projects(root: Project | None, members: list[Project], selection: Selection,
                     chosen_members: Sequence[Provider]) -> list[Project]:
    """The workspace projects whose dependencies are installed, as `uv sync` selects them."""
    everyone = ([root] if root is not None and root.name else []) + list(members)
    chosen_names = {p.name for p in chosen_members}
    if selection.packages:
        by_name = {project.name: project for project in everyone}
        picked = []
        for name in selection.packages:
            project = by_name.get(canonical_name(name))
            if project is None:
                valid = ", ".join(sorted(n for n in by_name if n)) or "(none)"
                raise SpecError(f"unknown workspace package {name!r}; valid packages: {valid}", where="--package")
            if project not in picked:
                picked.append(project)
        return picked + [m for m in members if m.name in chosen_names and m not in picked]
    if selection.all_packages or (root is not None and root.name is None):
        return everyone
    picked = [root] if root is not None and root.name else []
    return picked + [m for m in members if m.name in chosen_names]


# -- what else the collection says -----------------------------------------------------------------


def spec_files_present(project_dir: Path) -> bool:
    """Does the tree hold any spec file collect() reads on its own (pyproject.toml, setup.py, setup.cfg, provider.yaml)?"""
    if any((project_dir / name).is_file() for name in (PYPROJECT, *LEGACY_FILES)):
        return True
    return bool(provider_specs.find_provider_files(project_dir))


def _refuse_unsupported_urls(specset: SpecSet) -> None:
    """Direct URL requirements name a wheel or an sdist by https://, http:// or file://; VCS URLs are refused."""
    for root in [*specset.requirements, *specset.constraints]:
        if "@" not in root.requirement:
            continue
        url = Requirement(root.requirement).url
        if url and url.split(":", 1)[0] not in ("https", "http", "file"):
            raise SpecError(f"direct URL requirement {root.requirement!r}: only https://, http:// and file:// "
                            "URLs of a wheel or an sdist are supported (not VCS URLs)", where=root.source)


def _project_metadata(root: Project) -> ProjectMetadata:
    """The root project's Requires-Dist / Provides-Extra as its backend writes them (see ProjectMetadata)."""
    assert root.name is not None, "only a named project has metadata"
    if root.backend is not None:  # a hook ran: the backend's own lines, exactly
        backend = root.backend
        text = ""
        if backend.metadata_path:
            try:
                text = Path(backend.metadata_path).read_text(encoding="utf-8")
            except OSError:
                text = ""
        return ProjectMetadata(root.name, root.version, tuple(backend.requires_dist),
                               tuple(backend.provides_extra), root.shape, text, backend.wheel_path)
    requires, extras = pyproject.static_requires_dist(root)
    return ProjectMetadata(root.name, root.version, requires, extras, root.shape)


def render_text(specset: SpecSet) -> str:
    """The human output of `incrinstall specs`: requirements with sources, constraints, files, fingerprint."""
    def rows(items: list[RootRequirement]) -> list[str]:
        width = min(max((len(r.requirement) for r in items), default=0), 50)
        return [f"{r.requirement.ljust(width)}  ({r.source})" for r in items]

    lines = rows(specset.requirements) or ["(no requirements)"]
    if specset.constraints:
        lines += ["", "constraints:"] + ["  " + row for row in rows(specset.constraints)]
    lines += ["", "files:"] + ["  " + f for f in specset.files]
    lines += ["", f"fingerprint: {specset.fingerprint}"]
    return "\n".join(lines) + "\n"
