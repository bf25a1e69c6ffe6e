"""Drift: where the running rules and the configuration the host boots with judge a flow differently.

Rules added by hand are lost at the next reboot; rules saved but never loaded protect nothing now.
Only a change between letting the flow through and refusing it counts (a drop that becomes a
reject is no drift); where either side cannot be judged, the comparison cannot be made either.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass

from ..judge import Judgement, Segment

_WORDS = {"accept": "accepted", "drop": "dropped", "reject": "rejected", "unknown": "not judged"}


@dataclass(frozen=True)
class DriftSegment:
    first: str
    last: str
    live: str  # accept | drop | reject | unknown: what the running rules do
    saved: str  # the same, for the configuration the host boots with
    live_by: str
    saved_by: str

    @property
    def worse_at_boot(self) -> bool:
        """Accepted now, refused after the next reboot: the host will break the requirement then."""
        return self.live == "accept" and self.saved in ("drop", "reject")

    @property
    def comparable(self) -> bool:
        return "unknown" not in (self.live, self.saved)

    def __str__(self) -> str:
        span = _span(self.first, self.last)
        return (
            f"{span}: running rules {_WORDS[self.live]} ({self.live_by}); at boot "
            f"{_WORDS[self.saved]} ({self.saved_by})"
        )


def drift(live: Judgement, saved: Judgement) -> list[DriftSegment]:
    """The address ranges whose fate differs between the running rules and the boot's configuration."""
    found: list[DriftSegment] = []
    for version in (4, 6):
        points: set[int] = set()
        for segment in (*live.segments, *saved.segments):
            low_end, high_end = ipaddress.ip_address(segment.first), ipaddress.ip_address(segment.last)
            if low_end.version == version:
                points.add(int(low_end))
                points.add(int(high_end) + 1)
        for low, high in itertools.pairwise(sorted(points)):
            now, boot = _at(live, low, version), _at(saved, low, version)
            if now is None or boot is None or not _differs(now.verdict, boot.verdict):
                continue
            piece = DriftSegment(
                _address(version, low),
                _address(version, high - 1),
                now.verdict,
                boot.verdict,
                now.decided_by or now.unknown,
                boot.decided_by or boot.unknown,
            )
            last = found[-1] if found else None
            if (
                last is not None
                and (last.live, last.saved, last.live_by, last.saved_by)
                == (piece.live, piece.saved, piece.live_by, piece.saved_by)
                and ipaddress.ip_address(last.last).version == version
                and int(ipaddress.ip_address(last.last)) + 1 == low
            ):
                found[-1] = DriftSegment(
                    last.first, piece.last, last.live, last.saved, last.live_by, last.saved_by
                )
            else:
                found.append(piece)
    return found


def _differs(live: str, saved: str) -> bool:
    if "unknown" in (live, saved):
        return live != saved
    return (live == "accept") != (saved == "accept")


def _at(judgement: Judgement, value: int, version: int) -> Segment | None:
    for segment in judgement.segments:
        first, last = ipaddress.ip_address(segment.first), ipaddress.ip_address(segment.last)
        if first.version == version and int(first) <= value <= int(last):
            return segment
    return None


def _address(version: int, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


def _span(first: str, last: str) -> str:
    low, high = ipaddress.ip_address(first), ipaddress.ip_address(last)
    if isinstance(low, ipaddress.IPv4Address) and isinstance(high, ipaddress.IPv4Address):
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(
            ipaddress.summarize_address_range(low, high)
        )
    elif isinstance(low, ipaddress.IPv6Address) and isinstance(high, ipaddress.IPv6Address):
        networks = list(ipaddress.summarize_address_range(low, high))
    else:
        networks = []
    if len(networks) == 1:
        return str(networks[0]) if networks[0].num_addresses > 1 else first
    return f"{first}-{last}" if first != last else first
