"""Read a wheel's METADATA through HTTP range requests: the zip's end, its central directory, one member.

An index without PEP 658 metadata files would otherwise cost a whole wheel per candidate
version (gigabytes for a CI set). A wheel is a zip: its central directory sits at the end and
says where `<name>.dist-info/METADATA` starts, so two or three small ranges are enough. The
caller supplies the transport: `fetch(start, end)` returns bytes `start..end` inclusive (end
None: to the end of the file) with the file's total size, and raises `RangesUnsupported` when
the server answers with the whole file instead. Anything unexpected (zip64, a damaged
directory) raises `RangesUnsupported` too, and the caller downloads the file after all.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

TAIL = 16 * 1024  # the end of the file read first: the directory of most small wheels fits in it
_EOCD = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"

Fetch = Callable[[int, "int | None"], "tuple[bytes, int]"]


class RangesUnsupported(Exception):
    """The server or the file does not allow reading METADATA by ranges: download the whole file."""


def read_metadata(fetch: Fetch) -> bytes:
    """The bytes of the wheel's top-level `*.dist-info/METADATA`."""
    tail, size = fetch(-TAIL, None)  # a suffix range: the last TAIL bytes (or the whole, smaller file)
    tail_start = size - len(tail)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise RangesUnsupported("no end of central directory in the file's tail")
    entries, cd_size, cd_offset = struct.unpack_from("<HII", tail, at + 10)
    if 0xFFFFFFFF in (cd_size, cd_offset) or entries == 0xFFFF:
        raise RangesUnsupported("zip64 archive")
    if cd_offset >= tail_start:
        directory = tail[cd_offset - tail_start:cd_offset - tail_start + cd_size]
    else:
        directory, _ = fetch(cd_offset, cd_offset + cd_size - 1)
    member = _find_metadata(directory)
    name_len, method, compressed, header_offset = member
    # The local header repeats the name and may carry an extra field of another length: read generously.
    want_end = header_offset + 30 + name_len + compressed + 1024
    if header_offset >= tail_start:
        chunk = tail[header_offset - tail_start:]
    else:
        chunk, _ = fetch(header_offset, min(want_end, size) - 1)
    if chunk[:4] != _LOCAL:
        raise RangesUnsupported("no local file header where the directory points")
    local_name_len, local_extra_len = struct.unpack_from("<HH", chunk, 26)
    start = 30 + local_name_len + local_extra_len
    if len(chunk) < start + compressed:
        more, _ = fetch(header_offset + len(chunk), header_offset + start + compressed - 1)
        chunk += more
    data = chunk[start:start + compressed]
    if method == 0:
        return data
    if method == 8:
        try:
            return zlib.decompressobj(-15).decompress(data)
        except zlib.error as exc:
            raise RangesUnsupported(f"METADATA does not inflate: {exc}") from None
    raise RangesUnsupported(f"METADATA is compressed with method {method}")


def _find_metadata(directory: bytes) -> tuple[int, int, int, int]:
    """(name length, compression method, compressed size, local header offset) of the top-level METADATA."""
    pos = 0
    while pos + 46 <= len(directory) and directory[pos:pos + 4] == _CENTRAL:
        method, = struct.unpack_from("<H", directory, pos + 10)
        compressed, = struct.unpack_from("<I", directory, pos + 20)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", directory, pos + 28)
        header_offset, = struct.unpack_from("<I", directory, pos + 42)
        name = directory[pos + 46:pos + 46 + name_len].decode("utf-8", "replace")
        if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
            if 0xFFFFFFFF in (compressed, header_offset):
                raise RangesUnsupported("zip64 member")
            return name_len, method, compressed, header_offset
        pos += 46 + name_len + extra_len + comment_len
    raise RangesUnsupported("no .dist-info/METADATA in the central directory")
