"""A source file that no spec source reads: editing it must not change the dependencies."""


def answer() -> int:
    return 42
