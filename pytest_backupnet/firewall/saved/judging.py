"""The verdict the boot's firewall gives a flow: the live evaluator on each possible boot outcome."""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import replace

from ..judge import Flow, HostFirewall, Judgement, Segment, _outside_marks, judge
from ..model import Ruleset
from .reader import SavedFirewall

CANNOT = "could not evaluate the saved firewall configuration"


def host_with(ruleset: Ruleset, host: HostFirewall) -> HostFirewall:
    """The host's facts (interfaces, routes, port range, agent) with another ruleset."""
    marks, ctmarks = _outside_marks(ruleset, ruleset.mark_bits_written)
    return replace(
        host, ruleset=ruleset, unreadable="", tooling=True, outside_marks=marks, outside_ctmarks=ctmarks
    )


def judge_saved(saved: SavedFirewall, host: HostFirewall, flow: Flow) -> Judgement:
    """Like `judge`, for the firewall the host boots with; segments name the saved file and line."""
    if saved.unreadable:
        return Judgement((), (), f"{CANNOT}: {saved.unreadable}", False)
    if not saved.outcomes:
        return judge(host_with(Ruleset(), host), flow)
    judgements = [(o.how, judge(host_with(o.ruleset, host), flow)) for o in saved.outcomes]
    if len(judgements) == 1:
        return judgements[0][1]
    for how, found in judgements:
        if found.unreadable:
            return Judgement((), (), f"{found.unreadable} ({how})", False)
    judged = tuple(dict.fromkeys(s for _, j in judgements for s in j.judged))
    nothing = all(j.nothing_filters for _, j in judgements)
    return Judgement(tuple(_merge(judgements)), judged, "", nothing)


def _merge(judgements: list[tuple[str, Judgement]]) -> list[Segment]:
    """Cut the peers where any outcome changes verdict; a piece is certain only where all agree."""
    merged: list[Segment] = []
    for version in (4, 6):
        points: set[int] = set()
        for _, found in judgements:
            for first, last in _spans(found, version):
                points.add(first)
                points.add(last + 1)
        for low, next_low in itertools.pairwise(sorted(points)):
            piece = _piece(judgements, low, version)
            if piece is None:
                continue
            piece = replace(piece, first=_address(version, low), last=_address(version, next_low - 1))
            previous = merged[-1] if merged else None
            if (
                previous is not None
                and (previous.verdict, previous.decided_by, previous.path, previous.unknown)
                == (piece.verdict, piece.decided_by, piece.path, piece.unknown)
                and ipaddress.ip_address(previous.last).version == version
                and int(ipaddress.ip_address(previous.last)) + 1 == low
            ):
                merged[-1] = replace(previous, last=piece.last)
            else:
                merged.append(piece)
    return merged


def _piece(judgements: list[tuple[str, Judgement]], low: int, version: int) -> Segment | None:
    present = [(how, s) for how, found in judgements if (s := _at(found, low, version)) is not None]
    if not present:
        return None
    first_segment = present[0][1]
    verdicts = {s.verdict for _, s in present}
    if len(verdicts) == 1 and "unknown" not in verdicts:
        labels = list(dict.fromkeys(s.decided_by for _, s in present))
        return replace(first_segment, decided_by=" | ".join(labels))
    reason = "; ".join(f"{how or 'the boot'}: {_word(s)}" for how, s in present)
    return Segment(
        first_segment.first,
        first_segment.last,
        "unknown",
        "",
        first_segment.path,
        f"the verdict depends on the boot ({reason})",
    )


def _spans(found: Judgement, version: int) -> list[tuple[int, int]]:
    spans = []
    for segment in found.segments:
        first, last = ipaddress.ip_address(segment.first), ipaddress.ip_address(segment.last)
        if first.version == version:
            spans.append((int(first), int(last)))
    return spans


def _at(found: Judgement, value: int, version: int) -> Segment | None:
    for segment in found.segments:
        first, last = ipaddress.ip_address(segment.first), ipaddress.ip_address(segment.last)
        if first.version == version and int(first) <= value <= int(last):
            return segment
    return None


def _word(segment: Segment) -> str:
    return segment.unknown if segment.verdict == "unknown" else f"{segment.verdict} by {segment.decided_by}"


def _address(version: int, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))
