"""The ``ocop-analysis`` command: report, validate, template, sample.

Each subcommand's work is a function in its own module; this file only parses
arguments and turns known errors into one plain line and an exit status.
"""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

from .errors import ConfigError, RegistryError

# subcommand -> (module, function that takes the parsed args and returns an exit status,
#                function that adds the subcommand's arguments to its parser)
COMMANDS = {
    "report": ("report", "run_cli", "add_arguments", "run the notebooks and write the report package"),
    "validate": ("validate", "run_cli", "add_arguments", "check registry workbooks: per-sheet accounting and problems"),
    "template": ("template", "run_cli", "add_arguments", "write a blank registry workbook for clerks"),
    "sample": ("sample", "run_cli", "add_arguments", "regenerate the synthetic sample registries"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocop-analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, _, adder, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        try:
            getattr(import_module(f".{module}", __package__), adder)(p)
        except (ModuleNotFoundError, AttributeError):
            p.set_defaults(_unavailable=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if getattr(args, "_unavailable", False):
        print(f"ocop-analysis {args.command}: not available in this version", file=sys.stderr)
        return 2
    module, func, _, _ = COMMANDS[args.command]
    try:
        return int(getattr(import_module(f".{module}", __package__), func)(args) or 0)
    except (RegistryError, ConfigError, FileNotFoundError) as exc:
        print(f"ocop-analysis {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
