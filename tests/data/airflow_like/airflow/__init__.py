"""A tiny stand-in for the airflow package."""

__version__ = "2.10.0"
