"""Run the xcformat command line with the toy formats in the registry (for subprocess tests)."""

import sys

import toyformats

from xcformat import cli, formats

formats.registry = lambda: toyformats.REGISTRY

if __name__ == "__main__":
    sys.exit(cli.main())
