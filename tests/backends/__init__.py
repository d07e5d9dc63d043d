"""Tests of incrinstall/backends/: PEP 517/660 hooks in isolated build environments."""
