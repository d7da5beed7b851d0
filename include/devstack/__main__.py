"""``python -m include.devstack up|down|status|demo``"""

from __future__ import annotations

import argparse
import sys

from include.devstack.settings import StackSettings
from include.devstack.stack import down, status, up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.devstack", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status", "demo"))
    args = parser.parse_args(argv)
    if args.command == "demo":
        from include.devstack.demo import run_demo

        return run_demo()
    settings = StackSettings.from_environment()
    if args.command == "up":
        up(settings)
    elif args.command == "down":
        down(settings)
    else:
        return status(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
