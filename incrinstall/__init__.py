"""incrinstall: install only the dependency delta since a cached baseline."""

__version__ = "0.1.0"
