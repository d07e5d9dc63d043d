"""A site folder or a dist-info folder that cannot be read is an error, never an environment without packages.

Only the failures that mean "nothing there" (the folder does not exist, or is a file) are skipped;
anything else (here: permission denied, which root never meets, so it is raised by a stand-in for
os.listdir) reaches the user as itself. Taking an unreadable site-packages for an empty one would
plan to install everything again.
"""

from __future__ import annotations

import os

import pytest

from incrinstall.environment import installed
from incrinstall.specs import providers


def _denied(monkeypatch, folder) -> None:
    real = os.listdir

    def listdir(path="."):
        if os.fspath(path) == os.fspath(folder):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(installed.os, "listdir", listdir)


def test_an_unreadable_site_folder_is_an_error(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "alpha-1.0.dist-info").mkdir(parents=True)
    _denied(monkeypatch, site)
    with pytest.raises(PermissionError):
        installed.read_installed([str(site)])
    assert installed.read_installed([str(tmp_path / "never-made")]) == {}


def test_an_unreadable_dist_info_folder_is_an_error(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "alpha-1.0.dist-info").mkdir(parents=True)
    _denied(monkeypatch, site / "alpha-1.0.dist-info")
    with pytest.raises(PermissionError):
        installed.read_installed([str(site)])
    (site / "beta-1.0.dist-info").write_text("a file where a folder belongs")
    monkeypatch.undo()
    assert installed.read_installed([str(site)]) == {}  # no METADATA, and a stray file: nothing installed


def test_an_unreadable_folder_of_providers_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "providers" / "db").mkdir(parents=True)
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith(os.path.join("providers", "db")):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(providers.os, "scandir", scandir)
    with pytest.raises(PermissionError):
        providers.find_provider_files(tmp_path)
