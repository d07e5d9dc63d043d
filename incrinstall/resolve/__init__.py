"""Pins for the root requirements (resolver, uv fresh resolution) and the plan against what is installed."""
