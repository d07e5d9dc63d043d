"""What the install stage is handed: the user's options for a sync, the plan made for them, and what a run found
of an interrupted one (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incrinstall.common.config import IndexConfig, PrereleaseMode
from incrinstall.specs.model import Selection

if TYPE_CHECKING:
    from incrinstall.environment.installed import InstalledDist
    from incrinstall.environment.interpreter import Interpreter
    from incrinstall.install.journal import Journal
    from incrinstall.install.state import State
    from incrinstall.resolve.model import Resolution
    from incrinstall.resolve.plan import Plan
    from incrinstall.specs.model import SpecSet


@dataclass
class Options:
    """Everything the user chose for `plan`, `sync` and `baseline` (cli.py builds it from the arguments)."""

    project_dir: Path
    selection: Selection = field(default_factory=Selection)
    python: str | None = None
    index: IndexConfig = field(default_factory=IndexConfig)
    exact: bool = False
    prerelease: PrereleaseMode = "if-necessary-or-explicit"
    editable: bool = False
    lock_timeout: float | None = None
    compile_bytecode: bool = False
    require_hashes: bool = False  # a package to install without a known sha256 is an error, before any change
    break_system_packages: bool = False  # let uv change an EXTERNALLY-MANAGED (PEP 668) interpreter
    system: bool = False  # let a sync change the python3 found on PATH that is not a virtual environment
    frozen: bool = False  # install the uv.lock as it is, without asking uv whether it matches the specs


    def stamp_options(self) -> dict[str, Any]:
        """The options that change what a sync does; a change of any of them defeats the fast path."""
        return {
            "selection": self.selection.as_dict(),
            "index": self.index.as_dict(),
            "exact": self.exact,
            "prerelease": self.prerelease,
            "editable": self.editable,
            **({"frozen": True} if self.frozen else {}),
        }

    def uv_install_flags(self) -> list[str]:
        """The flags every `uv pip install` of this sync carries besides the index's."""
        return (["--compile-bytecode"] if self.compile_bytecode else []) + \
            (["--break-system-packages"] if self.break_system_packages else [])


@dataclass
class Planned:
    """A plan and everything needed to apply and explain it."""

    interpreter: Interpreter
    specset: SpecSet
    resolution: Resolution
    plan: Plan
    installed: dict[str, InstalledDist]
    previous: State | None
    reinstall: set[str]  # kept packages an interrupted run may have half-written: installed again
    index_requests: int


@dataclass
class Recovery:
    """What this run found of an interrupted one (its journal) and has repaired so far (installer.recover)."""

    journal: Journal | None = None
    completed: frozenset[str] = frozenset()  # "name==version" installs of the journal this run redid
    # Where the killed uv may have left temporary files: the folders of what it touched, as their RECORDs say.
    folders: dict[str, set[str]] = field(default_factory=dict)

    def touched(self) -> set[str]:
        return self.journal.touched() if self.journal is not None else set()


@dataclass(frozen=True)
class Applied:
    """What apply_plan() did beyond the plan's actions."""

    editable_installed: bool  # the project's editable install was (re)made
    members: tuple[tuple[str, str], ...] = ()  # (name, folder) of each workspace member installed editable


@dataclass
class Outcome:
    """What a sync or a baseline did (the command line renders it)."""

    planned: Planned | None  # None when the no-op test decided there was nothing to do
    noop: bool
    seconds: float
    editable_installed: bool = False
    prefix: str = ""  # the target environment's prefix
    members_installed: tuple[tuple[str, str], ...] = ()  # (name, folder) of the workspace members installed editable
