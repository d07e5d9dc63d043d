"""Credentials for an index that incrinstall sends as Basic auth: a URL's userinfo (common/urls.py takes it off),
else the `machine` entry of `$NETRC` or `~/.netrc`; and, for a 401/403, why none was sent."""

from __future__ import annotations

import base64
import netrc
import os


def _netrc_path() -> str:
    return os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")


def netrc_credentials(host: str) -> tuple[str, str] | None:
    """The login and password `$NETRC` (else `~/.netrc`) gives `host`, or None."""
    path = _netrc_path()
    if not os.path.isfile(path):
        return None
    try:
        auth = netrc.netrc(path).authenticators(host)
    except (netrc.NetrcParseError, OSError):
        return None  # uv ignores an unreadable netrc too; a 401 then says why it was not used (auth_hint)
    if not auth:
        return None
    login, _account, password = auth
    return login or "", password or ""


def basic_auth(credentials: tuple[str, str]) -> str:
    """The Authorization header value for (user, password)."""
    token = f"{credentials[0]}:{credentials[1]}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")


def auth_hint(status: int) -> str:
    """For a 401/403 answer: where credentials go, and why a netrc file there is was not used; else ""."""
    if status in (401, 403):
        problem = _netrc_problem()
        return ("; the index wants credentials: user:password@ in the index URL, or a `machine` entry in "
                "$NETRC or ~/.netrc" + (f" ({problem})" if problem else ""))
    return ""


def _netrc_problem() -> str | None:
    """Why the netrc file there is was not read, without any of its text (a bad token may be a password)."""
    path = _netrc_path()
    if not os.path.isfile(path):
        return None
    try:
        netrc.netrc(path)
    except netrc.NetrcParseError as exc:
        return f"{path} was not used: line {exc.lineno} is not valid netrc syntax"
    except OSError as exc:
        return f"{path} was not used: {exc.strerror or type(exc).__name__}"
    return None
