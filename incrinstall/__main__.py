"""`incrinstall` and `python -m incrinstall`: answer an unchanged sync before importing the rest."""

import sys


def main() -> int:
    from incrinstall.fastpath import try_noop

    if try_noop(sys.argv[1:]):
        return 0
    from incrinstall.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
