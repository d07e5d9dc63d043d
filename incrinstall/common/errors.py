"""The one exception family of incrinstall.

Each error carries what it is about as attributes (`message`, `where`, `detail`, and the
fields of its kind); cli.py alone turns one into text, a JSON object and an exit code.
"""

from __future__ import annotations


class IncrinstallError(Exception):
    """Base error. `where` names the file:line or the package the error is about."""

    def __init__(self, message: str, *, where: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.detail = detail


class SpecError(IncrinstallError):
    """A spec file is missing, unparsable, or asks for something that does not exist."""


class HookError(SpecError):
    """The project's build backend / hatch hook failed while computing dependencies."""


class InterpreterError(IncrinstallError):
    """The target interpreter could not be found or inspected."""


class IndexUnavailable(IncrinstallError):
    """The package index could not be reached or answered with an error."""


# HashMismatch and InvalidMetadata subclass IndexUnavailable: both are "the index gave us
# something we cannot use", and the places that already recover from an unusable index answer
# (a metadata file that fails its hash is forgotten and re-raised; a wheel read by ranges falls
# back to a full, hash-checked download) must keep catching them without naming every kind.


class HashMismatch(IndexUnavailable):
    """A downloaded file (or a PEP 658 metadata file) does not have the hash the index gave for it.

    `url` is the redacted URL (credentials never ride along in an error); `metadata` says the
    file is the PEP 658 metadata file of `file` rather than `file` itself.
    """

    def __init__(self, *, file: str, url: str, algorithm: str, expected: str, got: str, metadata: bool = False):
        what = f"metadata file {url}" if metadata else f"{file} from {url}"
        super().__init__(f"{what} does not match its {algorithm} hash (expected {expected}, got {got})", where=file)
        self.file = file
        self.url = url
        self.algorithm = algorithm
        self.expected = expected
        self.got = got
        self.metadata = metadata


class InvalidMetadata(IndexUnavailable):
    """A core-metadata file (METADATA, PKG-INFO, PEP 658) that cannot be parsed or does not fit its file.

    The message is `reason`, prefixed by `file` when that is known; `where` defaults to the
    project (the package the user asked for), else the file.
    """

    def __init__(self, reason: str, *, project: str | None = None, version: str | None = None,
                 file: str | None = None, where: str | None = None):
        super().__init__(f"{file}: {reason}" if file else reason, where=where or project or file)
        self.project = project
        self.version = version
        self.file = file
        self.reason = reason


class InsecureRedirect(IndexUnavailable):
    """An https URL redirected to plain http (`url`, without its password) and the caller refuses that."""

    def __init__(self, *, url: str, where: str | None = None):
        super().__init__(f"refusing a redirect from https to plain http ({url})", where=where)
        self.url = url


class ResponseTooLarge(IndexUnavailable):
    """A body above the caller's `limit` in bytes; `declared` is its Content-Length when that said so."""

    def __init__(self, *, url: str, limit: int, declared: int | None = None):
        said = f"is {declared} bytes, above" if declared is not None else "sent more than"
        super().__init__(f"{url} {said} the limit of {limit} bytes", where=url)
        self.url = url
        self.limit = limit
        self.declared = declared


class ResolutionError(IncrinstallError):
    """The requirements cannot all be satisfied together."""


class ArchiveError(IncrinstallError):
    """A source archive could not be fetched, verified or safely unpacked."""


class InstallError(IncrinstallError):
    """uv failed to apply a plan."""


class UvError(InstallError):
    """A uv call exited non-zero: `returncode`, the `command` run, and `output`, all that uv printed.

    The message names what incrinstall asked of uv and uv's own first error; `detail` is the part of
    `output` a reader needs. A caller that reads uv's explanation (the pre-release hint of
    `uv pip compile`) reads `output`.
    """

    def __init__(self, message: str, *, output: str, returncode: int, command: list[str],
                 where: str | None = None, detail: str | None = None):
        super().__init__(message, where=where, detail=detail)
        self.output = output
        self.returncode = returncode
        self.command = command


class LockTimeout(IncrinstallError):
    """Another incrinstall process holds the environment lock."""
