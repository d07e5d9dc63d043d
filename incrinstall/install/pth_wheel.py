"""Make a recipe's editable wheel: the backend's own dist-info, plus a .pth naming the folders the sources will be in.

A recipe's editable install is made before the sources are there (a Docker stage copies them over
it afterwards, with no RUN step after), so it cannot be the backend's own: that one maps the
packages it finds, and there are none. This wheel holds exactly what the backend's editable wheel
would hold in its dist-info (METADATA, entry_points.txt, licenses; taken from a wheel the backend
built from the recipe) and, instead of the backend's finder or paths, one `.pth` file with the
absolute import roots (recorded in the recipe's manifest by `recipe`, from the full tree). site.py
skips a .pth line whose folder does not exist yet and adds it once the sources are there, at the
next interpreter start. uv installs this wheel like any other, so console scripts are made and
RECORD lists every file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from incrinstall.common.errors import InstallError
from incrinstall.common.names import canonical_name

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: equal inputs give an equal wheel
_DROPPED = ("RECORD", "RECORD.jws", "RECORD.p7s", "WHEEL", "INSTALLER", "REQUESTED", "direct_url.json")
WHEEL_FILE = "Wheel-Version: 1.0\nGenerator: incrinstall\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


@dataclass(frozen=True)
class PthWheel:
    name: str  # canonical project name
    version: str
    path: Path


def make(backend_wheel: str | os.PathLike[str], roots: list[str], out_dir: str | os.PathLike[str]) -> PthWheel:
    """Write into `out_dir` the editable wheel of `backend_wheel`'s dist-info with a .pth of `roots` (absolute)."""
    backend_wheel = Path(backend_wheel)
    with zipfile.ZipFile(backend_wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        dist_infos = sorted({n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")})
        if len(dist_infos) != 1:
            raise InstallError(f"the backend's wheel {backend_wheel.name} holds {len(dist_infos)} .dist-info folders, "
                               "not one", where=backend_wheel.name)
        dist_info = dist_infos[0]
        files = {n: zf.read(n) for n in names
                 if n.startswith(dist_info + "/") and n.split("/")[-1] not in _DROPPED}
    metadata = files.get(f"{dist_info}/METADATA")
    if metadata is None:
        raise InstallError(f"the backend's wheel {backend_wheel.name} has no METADATA", where=backend_wheel.name)
    headers = HeaderParser().parsestr(metadata.decode("utf-8"))
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise InstallError(f"the backend's METADATA in {backend_wheel.name} names no project or no version",
                           where=backend_wheel.name)
    stem = dist_info[: -len(".dist-info")]
    pth_name = f"_incrinstall_editable_{stem.split('-')[0]}.pth"
    files[pth_name] = "".join(f"{root}\n" for root in roots).encode("utf-8")
    files[f"{dist_info}/WHEEL"] = WHEEL_FILE.encode("utf-8")
    record_name = f"{dist_info}/RECORD"
    rows = [[n, _hash(data), str(len(data))] for n, data in sorted(files.items())] + [[record_name, "", ""]]
    record = io.StringIO()
    csv.writer(record, lineterminator="\n").writerows(rows)
    files[record_name] = record.getvalue().encode("utf-8")
    path = Path(out_dir) / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, data in sorted(files.items(), key=lambda item: (item[0] == record_name, item[0])):
            info = zipfile.ZipInfo(n, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return PthWheel(canonical_name(name), version, path)


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
