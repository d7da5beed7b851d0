"""``python -m include.local_sagemaker.frameworks build [NAME...]``: build framework environments (all when
none is named); ``lock [NAME...]`` resolves their lock files again; ``list`` shows them and where they are."""

from __future__ import annotations

import argparse
import sys

from include.local_sagemaker.frameworks import environments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.local_sagemaker.frameworks")
    parser.add_argument("command", choices=("build", "lock", "list"))
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(environments.names())}")
    arguments = parser.parse_args(argv)
    for name in arguments.names or environments.names():
        if arguments.command == "build":
            print(f"{name}: {environments.build(name)}", flush=True)
        elif arguments.command == "lock":
            print(f"{name}: {environments.lock(name)}", flush=True)
        else:
            directory = environments.environment_dir(name)
            state = "built" if (directory / ".complete").exists() else "not built"
            print(f"{name}: {directory} ({state})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
