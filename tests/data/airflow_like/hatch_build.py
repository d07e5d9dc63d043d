"""Build hook of apache-airflow-lite: computes dependencies and extras the way Apache Airflow 2.8-2.10 did.

The core dependencies and the extras are not in pyproject.toml: this hook makes
them when a wheel (or the editable wheel) is built, from the lists below and
from generated/provider_dependencies.json (made from providers/*/provider.yaml).
It also reads airflow/__init__.py for the version, as Airflow's hook did.

- editable builds: provider extras resolve to the providers' own dependencies
  (plus their devel dependencies); a provider needed by another provider becomes
  a self-reference `apache-airflow-lite[<provider>]`; pre-installed providers
  add their dependencies to the core ones; devel extras are included.
- wheel builds: provider extras resolve to the provider packages; pre-installed
  providers are core dependencies; devel extras are left out.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ROOT = Path(__file__).parent.resolve()
PROJECT = "apache-airflow-lite"
PROVIDER_PREFIX = "apache-airflow-providers-"
PROVIDERS: dict[str, dict[str, Any]] = json.loads(
    (ROOT / "generated" / "provider_dependencies.json").read_text(encoding="utf-8")
)

# Providers that every installation gets (like Airflow's common.sql, http, ...).
PRE_INSTALLED_PROVIDERS = ["common.sql>=1.3.0"]

DEPENDENCIES = [
    "flaskish-lite>=2.2,<3",
    "sqlalchemyish-lite>=1.4",
    'tomli-lite>=1.0; python_version < "3.11"',
]

CORE_EXTRAS: dict[str, list[str]] = {
    "graphviz": ["graphviz-lite>=0.12"],
    "pandas": ["pandas-lite>=1.2,<3"],
}

DEVEL_EXTRAS: dict[str, list[str]] = {
    "devel-tests": ["pytest-lite>=8", "coverage-lite>=7"],
    "devel": [f"{PROJECT}[devel-tests]", f"{PROJECT}[amazon]"],
}

DEPRECATED_EXTRAS: dict[str, list[str]] = {
    "aws": [f"{PROJECT}[amazon]"],
    "gcp": [f"{PROJECT}[google]"],
}


def extra_name(provider_id: str) -> str:
    return provider_id.replace(".", "-").replace("_", "-")


def provider_id_of(requirement: str) -> str:
    """apache-airflow-providers-common-sql>=1.3.0 -> common.sql (as keyed in the generated file)."""
    name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
    wanted = name[len(PROVIDER_PREFIX):]
    for provider_id in PROVIDERS:
        if extra_name(provider_id) == wanted:
            return provider_id
    raise SystemExit(f"{requirement}: no such provider in generated/provider_dependencies.json")


def airflow_version() -> str:
    text = (ROOT / "airflow" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'__version__ = "([^"]+)"', text)
    if not match:
        raise RuntimeError("Cannot find the version in airflow/__init__.py")
    return match.group(1)


def excluded_here(provider: dict[str, Any]) -> bool:
    return f"{sys.version_info.major}.{sys.version_info.minor}" in provider.get("excluded-python-versions", [])


class CustomBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        editable = version == "editable"
        optional: dict[str, list[str]] = {}
        non_devel: set[str] = set()

        for table, devel in ((CORE_EXTRAS, False), (DEVEL_EXTRAS, True), (DEPRECATED_EXTRAS, False)):
            for extra, deps in table.items():
                if devel and not editable:
                    continue
                optional[extra] = list(deps)
                if not devel and table is not DEPRECATED_EXTRAS:
                    non_devel.add(extra)

        for provider_id, provider in PROVIDERS.items():
            if provider["state"] != "ready" or (editable and excluded_here(provider)):
                continue
            extra = extra_name(provider_id)
            if editable:
                deps = []
                for dep in [*provider["deps"], *provider.get("devel-deps", [])]:
                    if dep.startswith(f"{PROJECT}>="):
                        continue  # the tree is the core itself
                    if dep.startswith(PROVIDER_PREFIX):
                        dep = f"{PROJECT}[{extra_name(provider_id_of(dep))}]"
                    deps.append(dep)
                optional[extra] = sorted(set(deps))
            else:
                optional[extra] = [f"{PROVIDER_PREFIX}{extra}"]
            non_devel.add(extra)

        optional["all"] = [f"{PROJECT}[{extra}]" for extra in sorted(non_devel)]
        if editable:
            optional["devel-all"] = [f"{PROJECT}[all]", f"{PROJECT}[devel]"]

        dependencies = list(DEPENDENCIES)
        for spec in PRE_INSTALLED_PROVIDERS:
            provider_id, _, min_version = spec.partition(">=")
            provider = PROVIDERS[provider_id]
            if provider["state"] != "ready":
                continue
            if editable:
                # The provider's code is in the tree: install what it needs, not the provider package.
                dependencies += [d for d in provider["deps"] if not d.startswith(("apache-airflow-", f"{PROJECT}>="))]
            else:
                pin = f">={min_version}" if min_version and "dev" not in airflow_version() else ""
                dependencies.append(f"{PROVIDER_PREFIX}{extra_name(provider_id)}{pin}")

        build_data["dependencies"] = sorted(set(dependencies))
        # hatchling has no public way to set extras from a build hook: Airflow set the private field too.
        self.metadata.core._optional_dependencies = optional
