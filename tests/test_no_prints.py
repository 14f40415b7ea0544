"""Library code never prints: messages go to the ``xcformat`` logger or a caller's callback.

Only programs may write to standard output or error: the command line (``xcformat/cli``), the
``__main__`` modules, a module's ``main()`` and its ``if __name__ == "__main__"`` block.  The
I/O layer may take standard input's and output's file descriptors, for the path ``-``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xcformat"


def _is_main_block(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def writes(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of every print() and sys.stdout/sys.stderr use outside a program's part."""
    found = []

    def visit(node: ast.AST, parents: tuple[ast.AST, ...]) -> None:
        if isinstance(node, ast.FunctionDef) and node.name == "main" or _is_main_block(node):
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "print":
            found.append((node.lineno, "print()"))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "sys" and node.attr in ("stdout", "stderr"):
            parent = parents[-1] if parents else None
            takes_fd = isinstance(parent, ast.Attribute) and parent.attr == "fileno"
            if not takes_fd:
                found.append((node.lineno, f"sys.{node.attr}"))
        for child in ast.iter_child_nodes(node):
            visit(child, parents + (node,))

    visit(tree, ())
    return found


def test_no_library_module_prints():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "cli" or path.name == "__main__.py":
            continue
        for line, what in writes(ast.parse(path.read_text(), str(path))):
            offenders.append(f"xcformat/{relative}:{line}: {what}")
    assert offenders == []


def test_the_audit_sees_a_print_a_stderr_write_and_spares_programs():
    tree = ast.parse("import sys\n"
                     "def f():\n    print('x')\n    sys.stderr.write('y')\n"
                     "    return sys.stdout.fileno()\n"
                     "def main():\n    print('fine')\n"
                     "if __name__ == '__main__':\n    sys.stdout.write('fine')\n")
    assert writes(tree) == [(3, "print()"), (4, "sys.stderr")]
