"""common/names.py: the one name normalizer and the one reader of dist-info folder names."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from incrinstall.common.names import canonical_name, dist_info_name


@pytest.mark.parametrize("name", ["Django", "zope.interface", "A__b--c..D", "typing_extensions", "PyJWT", "a-b_c.d"])
def test_canonical_name_is_packagings_normalization(name):
    assert canonical_name(name) == canonicalize_name(name)


@pytest.mark.parametrize(("folder", "expected"), [
    ("typing_extensions-4.12.2.dist-info", ("typing-extensions", "4.12.2")),
    ("/venv/lib/python3.12/site-packages/Zope.Interface-7.0rc1.dist-info", ("zope-interface", "7.0rc1")),
    ("/venv/site-packages/pyjwt-2.9.0.dist-info/", ("pyjwt", "2.9.0")),
    ("broken.dist-info", ("broken", "")),
])
def test_dist_info_name_reads_name_and_version_from_the_folder(folder, expected):
    assert dist_info_name(folder) == expected
