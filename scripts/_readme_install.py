"""Apply the README's install snippets to a ``startproject`` site (used by scripts/test-install).

The README marks each snippet a new site follows with an HTML comment on the line before its
code block, ``<!-- install:NAME -->``; this reads them, so the README stays the one source.

    python scripts/_readme_install.py show NAME          print snippet NAME
    python scripts/_readme_install.py apply FILE NAME…   append Python snippets to FILE

Applying a Python snippet appends it to FILE, where ``NAME = [..., items]`` means "your list,
then these items" (duplicates dropped) and everything else is taken as written.
Standard library only: it runs with any Python, before anything is installed.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = re.compile(r"<!-- install:([\w-]+) -->\n+```\w*\n(.*?)```", re.S)


def snippets(readme: Path = README) -> dict[str, str]:
    """Every marked snippet of the README, by name."""
    found: dict[str, str] = {}
    for name, code in MARKER.findall(readme.read_text(encoding="utf-8")):
        if name in found:
            raise SystemExit(f"README.md marks two snippets install:{name}")
        found[name] = code
    return found


def snippet(name: str) -> str:
    try:
        return snippets()[name]
    except KeyError:
        raise SystemExit(f"README.md has no snippet marked <!-- install:{name} -->") from None


class _ExtendLists(ast.NodeTransformer):
    """``NAME = [..., a, b]`` → ``NAME = [*NAME, a, b]`` (strings: without duplicates)."""

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        value = node.value
        if not (
            len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(value, ast.List)
            and value.elts
            and isinstance(value.elts[0], ast.Constant)
            and value.elts[0].value is Ellipsis
        ):
            return node
        name = node.targets[0].id
        items = value.elts[1:]
        value.elts = [ast.Starred(ast.Name(name, ast.Load()), ast.Load()), *items]
        if all(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in items):
            # list(dict.fromkeys([...])): "django.contrib.contenttypes" is there already.
            node.value = ast.Call(
                ast.Name("list", ast.Load()),
                [
                    ast.Call(
                        ast.Attribute(ast.Name("dict", ast.Load()), "fromkeys", ast.Load()),
                        [value],
                        [],
                    )
                ],
                [],
            )
        return node


def applied(code: str) -> str:
    """The snippet as Python to append to the file it names."""
    tree = _ExtendLists().visit(ast.parse(code))
    return ast.unparse(ast.fix_missing_locations(tree))


def apply(path: Path, names: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    for name in names:
        text += f"\n\n# README.md, install:{name}\n{applied(snippet(name))}\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "show":
        sys.stdout.write(snippet(argv[1]))
    elif len(argv) >= 3 and argv[0] == "apply":
        apply(Path(argv[1]), argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
