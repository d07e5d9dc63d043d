"""Spec sources (pyproject.toml, hatch hooks, provider.yaml, requirements files) and collect(); see collect.py."""
