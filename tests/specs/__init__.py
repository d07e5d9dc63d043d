"""Tests of incrinstall/specs/: every spec source, collect(), its cache, workspaces."""
