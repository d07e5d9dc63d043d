"""Tests of incrinstall/index/: simple-API pages, files, metadata, strategies."""
