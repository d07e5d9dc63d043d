"""Run inside the TARGET interpreter; print one JSON object with everything incrinstall needs to know about it.

Invoked as ``python -I -S _probe.py [PACKAGING_DIR]`` by incrinstall.environment.interpreter.  It must run on any
Python 3 that someone may still install into (3.6 and up), so: no f-strings, no walrus, stdlib only.
PACKAGING_DIR is the folder of incrinstall's own ``packaging`` package; when it imports on this
interpreter we use its ``sys_tags()`` and ``default_environment()`` (exactly what pip/uv compute);
otherwise the raw facts below let incrinstall compute the tags in its own process.
"""

import importlib.machinery
import importlib.util
import json
import os
import sys

if False:  # for the type comments; never imported when this runs (the target may lack typing's newer names)
    import types  # noqa: F401  (named in type comments only)


def _venv_prefix():
    # type: () -> str | None
    """With -S the site module never ran, so a venv's sys.prefix still points at the base install.

    Mirror site.venv(): a pyvenv.cfg next to the executable or one folder up marks a venv whose
    prefix is the executable's parent folder.
    """
    executable = sys.executable
    if sys.platform == "darwin" and "__PYVENV_LAUNCHER__" in os.environ:
        executable = os.environ["__PYVENV_LAUNCHER__"]
    exe_dir = os.path.dirname(os.path.abspath(executable))
    site_prefix = os.path.dirname(exe_dir)
    for folder in (exe_dir, site_prefix):
        if os.path.isfile(os.path.join(folder, "pyvenv.cfg")):
            return site_prefix
    return None


def _full_version(info):
    # type: (sys._version_info) -> str
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def _markers_by_hand():
    # type: () -> dict[str, str]
    """PEP 508 environment, computed the way packaging.markers.default_environment() does."""
    # Local, as every import after main() has set sys.prefix: sysconfig must not be imported before (see main).
    import platform

    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": _full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _cpython_abis(sysconfig):
    # type: (types.ModuleType) -> list[str]
    """The ABI tags of this CPython, as packaging.tags computes them (for the fallback)."""
    major, minor = sys.version_info[:2]
    version = f"{major}{minor}"
    threading = debug = pymalloc = ""
    with_debug = sysconfig.get_config_var("Py_DEBUG")
    has_refcount = hasattr(sys, "gettotalrefcount")
    has_ext = "_d.pyd" in importlib.machinery.EXTENSION_SUFFIXES
    if with_debug or (with_debug is None and (has_refcount or has_ext)):
        debug = "d"
    if (major, minor) >= (3, 13) and sysconfig.get_config_var("Py_GIL_DISABLED"):
        threading = "t"
    if (major, minor) < (3, 8):
        with_pymalloc = sysconfig.get_config_var("WITH_PYMALLOC")
        if with_pymalloc or with_pymalloc is None:
            pymalloc = "m"
    abis = ["cp" + version + threading + debug + pymalloc]
    if (major, minor) >= (3, 8) and debug:
        abis.append("cp" + version + threading)
    return abis


def _generic_abis(sysconfig):
    # type: (types.ModuleType) -> list[str]
    ext_suffix = sysconfig.get_config_var("EXT_SUFFIX") or ""
    parts = ext_suffix.split(".")
    if len(parts) < 3:
        return []
    soabi = parts[1]
    if soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    else:
        abi = soabi
    return [abi.replace(".", "_").replace("-", "_")] if abi else []


def _import_packaging(folder):
    # type: (str) -> None
    """Import OUR packaging from its folder without putting the rest of our site-packages on sys.path."""
    spec = importlib.util.spec_from_file_location(
        "packaging", os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
    if spec is None or spec.loader is None:
        raise ImportError("no packaging in " + folder)
    module = importlib.util.module_from_spec(spec)
    sys.modules["packaging"] = module
    spec.loader.exec_module(module)


def main(argv):
    # type: (list[str]) -> None
    venv = _venv_prefix()
    if venv is not None:
        # Before sysconfig is imported: it reads sys.prefix at import time (<= 3.10) and picks the
        # "venv" scheme from it (3.11+, and Debian's patched posix_local logic).
        sys.prefix = sys.exec_prefix = venv
    import sysconfig  # only now: see above

    paths = sysconfig.get_paths()
    result = {
        "executable": sys.executable,
        "version_info": list(sys.version_info[:3]),
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "markers": _markers_by_hand(),
        # Raw facts for computing tags outside this process when packaging cannot run here.
        "implementation": sys.implementation.name,
        "py_version_nodot": sysconfig.get_config_var("py_version_nodot") or "",
        "platform": sysconfig.get_platform(),
        "is_32bit": sys.maxsize <= 2 ** 32,
        "abis": _cpython_abis(sysconfig) if sys.implementation.name == "cpython" else _generic_abis(sysconfig),
        "tags": None,
        "packaging_error": None,
    }
    if len(argv) > 1 and argv[1]:
        try:
            _import_packaging(argv[1])
            # Local: our packaging, imported from its folder just above (or not at all on a Python it does not run on).
            from packaging.markers import default_environment
            from packaging.tags import sys_tags

            result["markers"] = dict(default_environment())
            result["tags"] = [str(tag) for tag in sys_tags()]
        except Exception as exc:  # too old a Python for our packaging: the caller falls back
            result["packaging_error"] = f"{type(exc).__name__}: {exc}"
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
