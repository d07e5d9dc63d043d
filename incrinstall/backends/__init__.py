"""Build backends: PEP 517/660 hooks in isolated, reusable build environments, and the kept editable wheels."""
