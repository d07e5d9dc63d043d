"""The one exception family of incrinstall; the CLI turns each into one message and an exit code."""

from __future__ import annotations


class IncrinstallError(Exception):
    """Base error. `where` names the file:line or the package the error is about."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.detail = detail

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n{self.detail.rstrip()}" if self.detail else head


class SpecError(IncrinstallError):
    """A spec file is missing, unparsable, or asks for something that does not exist."""


class HookError(SpecError):
    """The project's build backend / hatch hook failed while computing dependencies."""


class InterpreterError(IncrinstallError):
    """The target interpreter could not be found or inspected."""


class IndexUnavailable(IncrinstallError):
    """The package index could not be reached or answered with an error."""


class ResolutionError(IncrinstallError):
    """The requirements cannot all be satisfied together."""

    exit_code = 1


class ArchiveError(IncrinstallError):
    """A source archive could not be fetched, verified or safely unpacked."""


class InstallError(IncrinstallError):
    """uv failed to apply a plan."""


class LockTimeout(IncrinstallError):
    """Another incrinstall process holds the environment lock."""
