"""``xcformat completion SHELL``: a tab-completion script for bash, zsh or tcsh.

The script is generated from the argument parsers by shtab, once, when this command runs: tab
completion then never starts Python, and ``xcformat``'s own start-up does not import shtab.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "tcsh")
#: Arguments that name files, completed as paths (the others from their choices, or not at all).
PATH_ARGUMENTS = frozenset({"file", "input", "output", "svg", "image", "config", "core", "xl"})


HELP = "print a shell completion script"
DESCRIPTION = ("Print a tab-completion script for SHELL on standard output.  bash: 'xcformat "
               "completion bash > /etc/bash_completion.d/xcformat' (or source it from ~/.bashrc); "
               "zsh: save it as _xcformat in a directory of $fpath.")


def add_arguments(parser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete for")


def run(args) -> int:
    import shtab

    from . import build_parser

    parser = build_parser()
    for action in _actions(parser):
        if action.dest in PATH_ARGUMENTS:
            action.complete = shtab.FILE
    print(shtab.complete(parser, shell=args.shell))
    return 0


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)
