"""Tests of incrinstall/resolve/: the resolver, the packse scenarios, uv's resolution, plan.diff()."""
