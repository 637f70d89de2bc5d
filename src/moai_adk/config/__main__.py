"""``python -m moai_adk.config --schema [--write | --check]``: the JSON Schema of ``moai.toml``.

``--schema`` prints it; ``--write`` also stores it as ``moai_adk/schemas/moai.schema.json`` (what the
package ships, regenerated after changing ``config/model.py``); ``--check`` exits 1 when that file
differs from what the model generates.
"""

from __future__ import annotations

import argparse
import sys

from . import schema_path
from .model import schema_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moai_adk.config", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", action="store_true", required=True, help="print the JSON Schema of moai.toml")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write it to the package ({schema_path().name})")
    mode.add_argument("--check", action="store_true", help="exit 1 when the shipped schema is out of date")
    args = parser.parse_args(argv)
    text, target = schema_text(), schema_path()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"{target} is out of date; run scripts/gen-schema", file=sys.stderr)
            return 1
        return 0
    if args.write:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}", file=sys.stderr)
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
