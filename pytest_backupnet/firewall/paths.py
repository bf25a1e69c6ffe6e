"""The packets of one flow and what each of their keys is at each hook.

Egress (the agent connects out): the SYN is locally generated (output, postrouting, netdev
egress), the SYN-ACK arrives (netdev ingress, prerouting, input). Inbound: the other way round.
A reject of the SYN answers with a reset or an ICMP error that itself traverses hooks (related to
the connection), so the answer is a third path. The peer address is the dimension the verdict is
cut along; every other key is a single value, a set of possible values, absent, or unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .facts import HostFacts
from .intervals import Intervals
from .model import CT_DIRECTION, CT_STATE, CT_STATUS, IF_TYPES, TCP_FLAGS, XT_NAT_STATES, Values
from .routing import RouteContext

CONNTRACK_PRIORITY = -200
# A peer's source port: in the default ephemeral range of its OS (Linux 32768-60999, Windows and
# the BSDs 49152-65535); a rule on ports in there leaves the verdict unknown.
EPHEMERAL_PEER_PORTS: Intervals = ((32768, 65535),)


class _Peer:
    def __repr__(self) -> str:
        return "PEER"


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


PEER = _Peer()  # the key is the peer address: the dimension verdicts are cut along
ABSENT = _Absent()  # the packet has no such key (no socket, no conntrack entry, other protocol)


@dataclass(frozen=True)
class Known:
    value: int | str


@dataclass(frozen=True)
class Possible:
    values: Values  # the key takes one of these, which one is not known


@dataclass(frozen=True)
class Unknown:
    reason: str


Resolved = _Peer | _Absent | Known | Possible | Unknown


@dataclass(frozen=True)
class Hop:
    hook: str  # output | postrouting | egress | ingress | prerouting | input
    side: str  # "out": leaving the host; "in": arriving
    via_loopback: bool = False


LOCAL_OUT = (Hop("output", "out"), Hop("postrouting", "out"), Hop("egress", "out"))
ARRIVAL = (Hop("ingress", "in"), Hop("prerouting", "in"), Hop("input", "in"))
LOOPBACK = tuple(Hop(h.hook, h.side, True) for h in (*LOCAL_OUT, *ARRIVAL))


@dataclass(frozen=True)
class PacketSpec:
    """Packets of the flow: where their addresses and ports come from and which hooks they meet."""

    name: str  # "syn" | "reply" (the SYN-ACK) | "ack" (the client's later packets) | "data" (the
    # server's later packets) | "answer" (the reset or ICMP error of a reject)
    hops: tuple[Hop, ...]
    saddr: str  # "peer" | "host"
    daddr: str
    l4proto: int  # 6 tcp, 1 icmp, 58 icmpv6
    sport: str  # "port" | "local" (the host's ephemeral range) | "remote" (the peer's) | ""
    dport: str
    tcp_flags: tuple[int, ...]  # the flag combinations these packets carry
    direction: int  # conntrack direction
    owner: str  # whose socket: "agent" (the agent's, leaving), "demux" (input after early demux),
    # "" none
    families: tuple[str, ...] = ()  # the families whose chains see it; () for IP: ip/ip6, inet, netdev
    arp_operation: int = 0  # for "arp": 1 request, 2 reply


@dataclass(frozen=True)
class FlowPackets:
    egress: bool  # the agent connects out (else: a peer connects in)
    syn: PacketSpec
    reply: PacketSpec
    ack: PacketSpec
    data: PacketSpec

    def early(self, packet: PacketSpec) -> PacketSpec | None:
        """Packets of an inbound connection before the agent accepts it: the peer's first data, and
        the kernel's ACKs of it, belong to no socket's owner yet. Dropped, TCP sends them again
        once the agent has accepted; rejected, the reset ends the connection."""
        if self.egress or packet.name not in ("ack", "data"):
            return None
        return replace(packet, owner="")


def answer_to(packet: PacketSpec, tcp_reset: bool) -> PacketSpec:
    """The reset or ICMP error answering a rejected packet, from the rejecting host to its source:
    back to the host itself when the packet was leaving it, out to the peer when it was arriving."""
    leaving = packet.hops[0].side == "out"
    hops = LOOPBACK if leaving else LOCAL_OUT
    if not tcp_reset:  # an ICMP error comes from the host's own address
        daddr = "host" if leaving else packet.saddr
        return PacketSpec("answer", hops, "host", daddr, 1, "", "", (), CT_DIRECTION["reply"], "")
    flags = (TCP_FLAGS["rst"] | TCP_FLAGS["ack"],)
    return PacketSpec(
        "answer",
        hops,
        packet.daddr,
        packet.saddr,
        6,
        packet.dport,
        packet.sport,
        flags,
        CT_DIRECTION["reply"] if packet.direction == 0 else CT_DIRECTION["original"],
        "",
    )


_ARP_FAMILIES = ("arp", "netdev")
# Neighbour resolution on an Ethernet link: the host asks for the next hop's address and answers
# the next hop's questions; a link where either is dropped carries nothing, whatever the IP rules.
_ARP_OUT, _ARP_IN = (Hop("output", "out"), Hop("egress", "out")), (Hop("ingress", "in"), Hop("input", "in"))


def _arp(leaving: bool, operation: int) -> PacketSpec:
    """An ARP request (1) or reply (2), sent by the host (`leaving`) or by its neighbour."""
    hops, source, target = (_ARP_OUT, "host", "neighbour") if leaving else (_ARP_IN, "neighbour", "host")
    return PacketSpec("arp", hops, source, target, 0, "", "", (), 0, "", _ARP_FAMILIES, operation)


ARP_PACKETS = (_arp(True, 1), _arp(False, 2), _arp(False, 1), _arp(True, 2))

_SYN, _SYN_ACK = (TCP_FLAGS["syn"],), (TCP_FLAGS["syn"] | TCP_FLAGS["ack"],)
_LATER = (TCP_FLAGS["ack"], TCP_FLAGS["psh"] | TCP_FLAGS["ack"])


def flow_packets(egress: bool) -> FlowPackets:
    """A connection: SYN, SYN-ACK, then the client's ACK and data, and the server's data."""
    if egress:  # the host is the client
        out = ("host", "peer", "local", "port")
        back = ("peer", "host", "port", "local")
        return FlowPackets(
            True,
            PacketSpec("syn", LOCAL_OUT, *out[:2], 6, *out[2:], _SYN, 0, "agent"),
            PacketSpec("reply", ARRIVAL, *back[:2], 6, *back[2:], _SYN_ACK, 1, "demux"),
            PacketSpec("ack", LOCAL_OUT, *out[:2], 6, *out[2:], _LATER, 0, "agent"),
            PacketSpec("data", ARRIVAL, *back[:2], 6, *back[2:], _LATER, 1, "demux"),
        )
    inwards = ("peer", "host", "remote", "port")
    outwards = ("host", "peer", "port", "remote")
    return FlowPackets(
        False,
        PacketSpec("syn", ARRIVAL, *inwards[:2], 6, *inwards[2:], _SYN, 0, ""),
        PacketSpec("reply", LOCAL_OUT, *outwards[:2], 6, *outwards[2:], _SYN_ACK, 1, "agent"),
        # the handshake's ACK finds the listener by early demux, the later packets the agent's socket
        PacketSpec("ack", ARRIVAL, *inwards[:2], 6, *inwards[2:], _LATER, 0, "demux"),
        PacketSpec("data", LOCAL_OUT, *outwards[:2], 6, *outwards[2:], _LATER, 1, "agent"),
    )


@dataclass(frozen=True)
class PacketState:
    """What rules can change, or what differs between packets of the flow."""

    context: int  # index of the route context
    mark: int | None  # None: not known
    ctmark: int | None
    untracked: bool = False  # notrack applied to this packet
    # The connection's conntrack entry before this packet: "none", "syn_sent", "syn_recv",
    # "established"; for an answer, "related" when the rejected packet had one.
    entry: str = "none"
    nat: int = 0  # ct status bits set by NAT on the SYN
    status: int = 0  # the entry's ct status (confirmed, seen-reply, assured) before this packet


# The state conntrack gives a packet, by the entry before it (nf_conntrack_proto_tcp's table).
_LOOSE = "loose"  # no entry: a mid-stream packet is picked up as new when nf_conntrack_tcp_loose is on
_GIVES = {
    ("syn", "none"): "new", ("syn", "syn_sent"): "new",  # a retransmitted SYN, no reply seen yet
    ("syn", "syn_recv"): "established",  # ... once a SYN-ACK passed conntrack, though dropped after
    ("reply", "syn_sent"): "established",
    ("ack", "syn_recv"): "established", ("ack", "established"): "established", ("ack", "none"): _LOOSE,
    ("data", "established"): "established", ("data", "syn_recv"): "established",
    ("data", "syn_sent"): "established", ("data", "none"): _LOOSE,
}  # fmt: skip


def conntrack_state(packet: PacketSpec, entry: str, loose: bool | None) -> str | None:
    """The state conntrack gives the packet (once it has run); None when it is not known."""
    if packet.name == "answer":
        return "related" if entry == "related" else "invalid"
    given = _GIVES.get((packet.name, entry), "invalid")
    if given == _LOOSE:
        return None if loose is None else ("new" if loose else "invalid")
    return given


VISIBLE_NAT = CT_STATUS["snat"] | CT_STATUS["dnat"]


def _own_status(packet: PacketSpec, entry: str) -> int:
    """What conntrack records when it sees this packet: a reply, or the handshake completing."""
    if packet.name == "reply":
        return CT_STATUS["seen-reply"]
    if packet.name == "ack" and entry == "syn_recv":
        return CT_STATUS["assured"]
    return 0


def status_after(packet: PacketSpec, state: PacketState, loose: bool | None) -> int:
    """The entry's ct status once the packet has passed (and been confirmed, for a first packet)."""
    given = None if state.untracked else conntrack_state(packet, state.entry, loose)
    if given == "new":
        return CT_STATUS["confirmed"]
    if given == "established":
        return state.status | _own_status(packet, state.entry)
    return state.status


def entry_after(packet: PacketSpec, state: PacketState, loose: bool | None) -> str:
    """The connection's entry once the packet has passed (its notrack leaves the entry as it was)."""
    if state.untracked:
        return state.entry
    given = conntrack_state(packet, state.entry, loose)
    if given == "new":
        return "syn_sent" if packet.name == "syn" else "established"
    if given == "established":
        return {"reply": "syn_recv", "ack": "established"}.get(packet.name, state.entry)
    return state.entry


class KeyReader:
    """Resolves keys for one packet at one hook and priority, in one route context."""

    def __init__(self, facts: HostFacts, family: int, port: int, agent: tuple[int | None, int | None, str]):
        self.facts, self.family, self.port = facts, family, port
        self.uid, self.gid, self.agent_note = agent

    def static(self, packet: PacketSpec, hop: Hop, context: RouteContext) -> dict[str, Resolved]:
        """Keys that do not depend on the packet's state."""
        if packet.name == "arp":
            return self._arp(packet, hop, context)
        keys: dict[str, Resolved] = {}
        family = self.family
        keys["nfproto"] = Known(family)
        keys["protocol"] = Known(0x0800 if family == 4 else 0x86DD)
        keys["l4proto"] = Known(packet.l4proto if packet.l4proto != 1 or family == 4 else 58)
        keys["fragment"] = Known(0)
        keys["ipsec"] = Known(0)
        keys["saddr"] = self._address(packet.saddr, context)
        keys["daddr"] = self._address(packet.daddr, context)
        tcp = packet.l4proto == 6
        for field_name, source in (("sport", packet.sport), ("dport", packet.dport)):
            value = self._port(source) if tcp else ABSENT
            keys[f"tcp.{field_name}"] = value
            keys[f"th.{field_name}"] = value if tcp else Unknown("a transport port of an ICMP error")
            keys[f"udp.{field_name}"] = ABSENT
        keys["other.port"] = ABSENT
        if not tcp:
            keys["tcp.flags"] = ABSENT
        elif len(packet.tcp_flags) == 1:
            keys["tcp.flags"] = Known(packet.tcp_flags[0])
        else:
            keys["tcp.flags"] = Possible(Values(ints=tuple((f, f) for f in sorted(packet.tcp_flags))))
        icmp = 3 if family == 4 else 1  # destination unreachable
        keys["icmp.type"] = Known(icmp) if not tcp and family == 4 else ABSENT
        keys["icmpv6.type"] = Known(icmp) if not tcp and family == 6 else ABSENT
        interface = "lo" if hop.via_loopback else context.interface
        interface_type = IF_TYPES["loopback"] if hop.via_loopback else context.interface_type
        unknown_interface = Unknown(f"the interface towards the peer is not known ({context.note})")
        device: Resolved = Known(interface) if interface is not None else unknown_interface
        if hop.side == "out":
            keys["oifname"], keys["iifname"] = device, Known("")
            keys["oiftype"] = Known(interface_type) if interface_type is not None else unknown_interface
            keys["iiftype"] = ABSENT
        else:
            keys["iifname"] = device
            keys["oifname"] = Known("")
            keys["iiftype"] = Known(interface_type) if interface_type is not None else unknown_interface
            keys["oiftype"] = ABSENT
        keys["pkttype"] = self._pkttype(packet, context)
        keys["fib.daddr.type"] = self._type(packet.daddr, context)
        keys["fib.saddr.type"] = self._type(packet.saddr, context)
        # reverse path: the route back to the source leaves by the interface the packet came in on
        keys["fib.saddr.oif"] = device if hop.side == "in" else ABSENT
        keys["fib.daddr.oif"] = (
            device if hop.side == "out" else Unknown("the route to the host's own address")
        )
        owner = self._owner(packet, hop)
        keys["skuid"], keys["skgid"] = owner
        keys["socket"] = (
            ABSENT if owner[0] is ABSENT else (Known(1) if not isinstance(owner[0], Unknown) else owner[0])
        )
        return keys

    def _arp(self, packet: PacketSpec, hop: Hop, context: RouteContext) -> dict[str, Resolved]:
        """An ARP packet: no IP header, no transport, no conntrack; sender and target addresses."""
        keys: dict[str, Resolved] = dict.fromkeys(
            (
                "saddr",
                "daddr",
                "l4proto",
                "tcp.sport",
                "tcp.dport",
                "th.sport",
                "th.dport",
                "udp.sport",
                "udp.dport",
                "other.port",
                "tcp.flags",
                "icmp.type",
                "icmpv6.type",
                "skuid",
                "skgid",
                "socket",
                "fib.daddr.type",
                "fib.saddr.type",
                "fib.saddr.oif",
                "fib.daddr.oif",
                "fragment",
                "ipsec",
            ),
            ABSENT,
        )
        keys["protocol"] = Known(0x0806)
        keys["nfproto"] = Known(0)
        keys["arp.operation"] = Known(packet.arp_operation)
        neighbour: Resolved = Known(context.gateway) if context.gateway is not None else PEER
        host = self._address("host", context)
        keys["arp.saddr"] = host if packet.saddr == "host" else neighbour
        keys["arp.daddr"] = host if packet.daddr == "host" else neighbour
        device: Resolved = (
            Known(context.interface)
            if context.interface is not None
            else Unknown(f"the interface towards the peer is not known ({context.note})")
        )
        interface_type: Resolved = (
            Known(context.interface_type) if context.interface_type is not None else device
        )
        if hop.side == "out":
            keys.update(oifname=device, iifname=Known(""), oiftype=interface_type, iiftype=ABSENT)
        else:
            keys.update(iifname=device, oifname=Known(""), iiftype=interface_type, oiftype=ABSENT)
        broadcast = packet.arp_operation == 1 and hop.side == "in"
        keys["pkttype"] = Known(1 if broadcast else 0)
        return keys

    def _address(self, role: str, context: RouteContext) -> Resolved:
        if role == "peer":
            return PEER
        if context.host_address is None:
            return Unknown(
                f"the host's own address towards the peer is not known ({context.note or 'no address'})"
            )
        return Known(context.host_address)

    def _port(self, source: str) -> Resolved:
        if source == "port":
            return Known(self.port)
        if source == "remote":
            return Possible(Values(ints=EPHEMERAL_PEER_PORTS))
        if source == "local":
            found = self.facts.port_range
            if found is None:
                return Unknown("the local port range (ip_local_port_range) is not known")
            return Possible(Values(ints=(found,)))
        return ABSENT

    def _pkttype(self, packet: PacketSpec, context: RouteContext) -> Resolved:
        if context.peer_type in (1, 2):  # unicast or local
            return Known(0)
        return Unknown("the peer address is not unicast")

    def _type(self, role: str, context: RouteContext) -> Resolved:
        if role == "host":
            return Known(2)  # local
        if context.peer_type is None:
            return Unknown(f"the address type of the peer is not known ({context.note})")
        return Known(context.peer_type)

    def _owner(self, packet: PacketSpec, hop: Hop) -> tuple[Resolved, Resolved]:
        demuxed = packet.owner == "demux" and hop.hook == "input"
        if (packet.owner == "agent" and hop.side == "out") or demuxed:
            if demuxed and self.facts.early_demux is None:
                unknown = Unknown("whether early demux gives arriving replies their socket is not known")
                return unknown, unknown
            if demuxed and not self.facts.early_demux:
                return ABSENT, ABSENT
            if self.uid is None or self.gid is None:
                unknown = Unknown(f"the agent's user is not known ({self.agent_note})")
                return unknown, unknown
            return Known(self.uid), Known(self.gid)
        return ABSENT, ABSENT

    def stateful(
        self,
        key: str,
        packet: PacketSpec,
        hop: Hop,
        priority: int,
        state: PacketState,
        flow_egress: bool,
        context: RouteContext,
    ) -> Resolved:
        """Keys read from the packet's state and its conntrack entry."""
        if key == "mark":
            return Known(state.mark) if state.mark is not None else Unknown("a mark set outside the ruleset")
        tracked = conntrack_view(packet, hop, priority, state, self.facts.tcp_loose)
        if key in ("ctstate", "ctstate.xt"):
            if tracked is None:
                return Unknown("rules at the conntrack priority (-200) may run before or after it")
            bits = CT_STATE[tracked]
            if key == "ctstate.xt" and tracked not in ("invalid", "untracked"):
                bits |= (XT_NAT_STATES["SNAT"] if state.nat & CT_STATUS["snat"] else 0) | (
                    XT_NAT_STATES["DNAT"] if state.nat & CT_STATUS["dnat"] else 0
                )
            return Known(bits)
        if tracked is None:
            return Unknown(
                "the packet's conntrack state is not known (rules at the conntrack priority -200, "
                "or a mid-stream pickup with nf_conntrack_tcp_loose not known)"
            )
        if tracked in ("invalid", "untracked"):
            return ABSENT
        picked = tracked == "new" and packet.name != "syn"  # an entry created by this later packet
        if key == "ctmark":
            return (
                Known(state.ctmark)
                if state.ctmark is not None
                else Unknown("a ct mark set outside the ruleset")
            )
        if key == "ctstatus":
            if picked:
                return Known(0)
            return Known(state.status | (state.nat & VISIBLE_NAT) | _own_status(packet, state.entry))
        if key == "ctdirection":
            return Known(0 if picked else packet.direction)
        if key == "ctproto":
            return Known(6)
        if key == "cthelper":
            return Known("")
        if key.startswith("ct."):
            original_source = "host" if flow_egress else "peer"
            original_destination = "peer" if flow_egress else "host"
            if picked and packet.direction == 1:  # picked up from the server's side
                original_source, original_destination = original_destination, original_source
            role = {
                "ct.orig.saddr": original_source,
                "ct.orig.daddr": original_destination,
                "ct.reply.saddr": original_destination,
                "ct.reply.daddr": original_source,
            }[key]
            return self._address(role, context)
        return Unknown(f"{key} is not evaluated")


def conntrack_view(
    packet: PacketSpec, hop: Hop, priority: int, state: PacketState, loose: bool | None
) -> str | None:
    """The packet's conntrack state at this hook and priority; None when it is not known."""
    if packet.name == "arp":
        return "invalid"  # ARP is not tracked
    if state.untracked:
        return "untracked"
    if packet.name == "answer":  # the kernel attaches the rejected packet's entry when it builds the answer
        return conntrack_state(packet, state.entry, loose)
    if hop.hook == "ingress":
        return "invalid"
    if hop.hook in ("prerouting", "output"):
        if priority < CONNTRACK_PRIORITY:
            return "invalid"
        if priority == CONNTRACK_PRIORITY:
            return None
    return conntrack_state(packet, state.entry, loose)
