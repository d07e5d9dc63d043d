"""URL helpers every stage uses for messages and credentials; light (urllib.parse only), so no caller pays for HTTP."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit


def redact(url: str) -> str:
    """The URL without a password, for messages and cache keys."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without userinfo, (user, password) or None)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=hostport)), (unquote(user), unquote(password))
