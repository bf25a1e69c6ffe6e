"""A DNS server that answers A and refuses AAAA, as some forwarders do: `dnsserver.py ADDR NAME=IP ...`.

A queries for a listed name get its address; for any other name, SERVFAIL. Every other type is
REFUSED. Runs until killed, on UDP port 53 of ADDR; prints "ready" once bound.
"""

from __future__ import annotations

import socket
import sys

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def answer(query: dns.message.Message, records: dict[str, str]) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    question = query.question[0]
    name = question.name.to_text(omit_final_dot=True).lower()
    if question.rdtype != dns.rdatatype.A:
        response.set_rcode(dns.rcode.REFUSED)
    elif name in records:
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", records[name]))
    else:
        response.set_rcode(dns.rcode.SERVFAIL)
    return response


def main(address: str, specs: list[str]) -> None:
    records = dict(spec.lower().split("=", 1) for spec in specs)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((address, 53))
    print("ready", flush=True)
    while True:
        wire, client = server.recvfrom(4096)
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            continue
        if query.question:
            server.sendto(answer(query, records).to_wire(), client)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
