"""End-to-end tests: the CLI commands on real venvs, a real loopback index and real uv."""
