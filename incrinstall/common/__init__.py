"""Plumbing every stage shares: errors, configuration, HTTP, atomic writes, TOML, names, paths, uv."""
