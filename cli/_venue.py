"""What the venue commands share: the --venue and --timeout options, the YAML a snapshot is
written as, and the note on stderr naming what a snapshot left out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hedgecore.cli._options import DEFAULT_TIMEOUT_SECONDS as DEFAULT_TIMEOUT_SECONDS
from hedgecore.cli._options import TimeoutOpt as TimeoutOpt

if TYPE_CHECKING:
    from hedgecore.venues.base import Snapshot

# The snapshot commands need a venue; exposures, scenarios, hedge and check take an optional
# one (cli._options.VenueOpt). --timeout is shared (declared once in cli._options).
SnapshotVenueOpt = Annotated[str, typer.Option(
    "--venue", help="Venue to read from: deribit (market and positions) or bybit (market).",
    show_default=False)]
MAX_NOTED = 20


def snapshot_yaml(snapshot: Snapshot, kind: str, venue: str) -> str:
    """The document as YAML, headed by comments naming the instruments left out and why."""
    import yaml

    lines = [f"# hedgecore {kind} snapshot from {venue}"]
    if snapshot.excluded:
        lines.append(f"# left out ({len(snapshot.excluded)}):")
        lines += [f"#   {name}: {reason}" for name, reason in snapshot.excluded]
    # libyaml's emitter when PyYAML has it: the same text, a full chain in 60 ms instead of 200
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = yaml.dump(snapshot.document, Dumper=dumper, sort_keys=False, default_flow_style=None, width=120,
                     allow_unicode=True)
    return "\n".join(lines) + "\n" + body


def note_excluded(snapshot: Snapshot, venue: str) -> None:
    """One line on stderr when instruments were left out (the file's header lists them all)."""
    if not snapshot.excluded:
        return
    shown = "; ".join(f"{name} ({reason})" for name, reason in snapshot.excluded[:MAX_NOTED])
    more = f"; and {len(snapshot.excluded) - MAX_NOTED} more" if len(snapshot.excluded) > MAX_NOTED else ""
    sys.stderr.write(f"hedgecore: note: {venue}: {len(snapshot.excluded)} left out: {shown}{more}\n")


def emit(text: str, output: Path | None) -> None:
    """To stdout, or atomically to a file (two cron runs at once never leave a torn file)."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from hedgecore.cli._render import write_atomically

    write_atomically(output, text)


def fetch_snapshot(venue: str, what: str, **arguments: Any) -> Snapshot:
    from hedgecore.venues import venue_module

    module = venue_module(venue)
    function = getattr(module, f"fetch_{what}")
    snapshot: Snapshot = function(**arguments)
    return snapshot
