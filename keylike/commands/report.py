"""Write the markdown a pull request needs: params and metrics diff between two git revisions, with
rows in a fixed order, and optionally `dvc plots diff` rendered to a directory it links to.

  keylike report --base main                        # main against the working tree, to stdout
  keylike report --base origin/main --head HEAD --out report.md --plots-dir report-plots
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike report`."""
    parser.add_argument("--base", default="main", help="git revision to compare against (default: main)")
    parser.add_argument(
        "--head", default="workspace", help="git revision, or `workspace` (default) for the working tree"
    )
    parser.add_argument("--repo", type=Path, default=Path("."), help="the DVC repository (default: .)")
    parser.add_argument("--out", type=Path, help="write the markdown here (default: stdout)")
    parser.add_argument("--plots-dir", type=Path, help="render `dvc plots diff` HTML into this directory and link it")
    parser.add_argument("--plots-url", help="link plots here instead (e.g. the CI artifact URL of --plots-dir)")
    parser.add_argument("--all", action="store_true", help="list unchanged params and metrics too (by default only what changed)")


def run(args: argparse.Namespace) -> int:
    """Build the report and write it to --out or stdout."""
    from keylike.errors import KeylikeError
    from keylike.io import atomic_write_text
    from keylike.reporting import build_report

    if not args.repo.is_dir():
        raise KeylikeError(f"repository folder {args.repo} not found; pass --repo the DVC repository to report on")

    plots_link = args.plots_url
    if plots_link is None and args.plots_dir is not None and args.out is not None:
        plots_link = Path(os.path.relpath(args.plots_dir / "index.html", args.out.parent)).as_posix()
    markdown = build_report(
        args.base, args.head, repo=args.repo, plots_dir=args.plots_dir, plots_link=plots_link, all_params=args.all
    )
    if args.out is None:
        sys.stdout.write(markdown)
    else:
        atomic_write_text(args.out, markdown)
    return 0
