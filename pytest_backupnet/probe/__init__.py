"""The batched per-host probe: one remote command gathers every observation of a host."""

from __future__ import annotations

from .command import IMPLEMENTATIONS, remote_command
from .records import (
    Captured,
    Connection,
    FileContent,
    ProbeOutputError,
    ProbeReport,
    Resolution,
    parse_probe_output,
)
from .request import MAX_BYTES, ProbeRequest

__all__ = [
    "IMPLEMENTATIONS",
    "MAX_BYTES",
    "Captured",
    "Connection",
    "FileContent",
    "ProbeOutputError",
    "ProbeReport",
    "ProbeRequest",
    "Resolution",
    "parse_probe_output",
    "remote_command",
]
