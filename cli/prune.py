"""`hedgecore prune --before TIME`: journal retention.

Deletes the runs valued before TIME and the documents no remaining run uses, and gives the
space back to the file system. Fills stay (they are the record of what was traded, and
min_interval counts from the last one) unless --fills.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from hedgecore.cli._errors import Sources, guarded
from hedgecore.cli._journal import JournalOpt, open_journal, parse_time
from hedgecore.cli._options import DebugOpt, FormatOpt, OutputFormat


def prune(
    before: Annotated[str, typer.Option("--before", help="Delete runs valued before this time (ISO-8601, UTC if "
                                        "no zone).", metavar="TIME", show_default=False)],
    fills: Annotated[bool, typer.Option("--fills", help="Also delete fills executed before TIME.")] = False,
    journal: JournalOpt = None,
    format: FormatOpt = OutputFormat.table,
    debug: DebugOpt = False,
) -> None:
    """Journal retention: delete runs valued before a time, and the documents only they used."""
    cutoff = parse_time(before, "--before")
    assert cutoff is not None
    with guarded(debug, Sources()):
        with open_journal(journal, create=False) as store:
            removed = store.prune(cutoff, fills=fills)
            path = store.path
        if format is OutputFormat.json:
            sys.stdout.write(json.dumps({"journal": str(path), "deleted": removed}, indent=2) + "\n")
        else:
            sys.stdout.write(f"{path}: deleted {removed['runs']:,} runs, {removed['fills']:,} fills and "
                             f"{removed['documents']:,} documents before {cutoff:%Y-%m-%d %H:%M:%S} UTC\n")
