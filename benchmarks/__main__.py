"""`python -m benchmarks [scenario-prefix ...] [--quick]`: run every scenario module, print a table and
one JSON object per scenario on its own line.

A scenario module in this package exposes `async def scenarios(quick: bool) -> AsyncIterator[dict]`,
yielding one result dict per scenario: {"scenario": name, "params": {...}, "figures": {...}}.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def _table(results: list[dict[str, Any]]) -> str:
    lines = []
    for result in results:
        params = ", ".join(f"{k}={v}" for k, v in result.get("params", {}).items())
        lines.append(f"== {result['scenario']} ({params})")
        for key, value in result.get("figures", {}).items():
            shown = (
                f"{value:,.3f}"
                if isinstance(value, float)
                else f"{value:,}"
                if isinstance(value, int)
                else value
            )
            lines.append(f"   {key:<40} {shown}")
    return "\n".join(lines)


async def _run(selected: list[str], quick: bool) -> int:
    results: list[dict[str, Any]] = []
    for name in _modules():
        if selected and not any(name.startswith(s) for s in selected):
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        runner = getattr(module, "scenarios", None)
        if runner is None:
            continue
        async for result in runner(quick):
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
    print()
    print(_table(results))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("only", nargs="*", help="run only modules whose names start with these")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    return asyncio.run(_run(args.only, args.quick))


if __name__ == "__main__":
    sys.exit(main())
