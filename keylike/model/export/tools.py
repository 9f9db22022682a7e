"""Checking and naming the tools an export format needs (they come with the `export` extra)."""

from __future__ import annotations

import importlib.metadata
import importlib.util

from keylike.errors import ExportToolsMissingError


def require(export_format: str, modules: dict[str, str]) -> None:
    """Raise ExportToolsMissingError unless every module is importable; `modules` maps module to package."""
    missing = [f"{package} (module {module})" for module, package in modules.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ExportToolsMissingError(export_format, missing)


def package_versions(*packages: str) -> dict[str, str]:
    """Installed version of each package (`missing` when it is not installed)."""
    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "missing"
    return found
