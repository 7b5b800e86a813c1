#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write a small MaxMind DB (format 2.0, IPv4 tree, 24-bit records) that maps networks to
autonomous systems the way GeoLite2-ASN does ({"autonomous_system_number": N,
"autonomous_system_organization": S}), for tests of `vigie scan --asn-db`.

usage: make_asn_mmdb.py OUT.mmdb CIDR=ASN[:ORG] ...
Written from the published format description (MaxMind DB File Format Specification 2.0),
with Python's standard library only.
"""
import ipaddress
import struct
import sys


def ctrl(type_, size):
    """Control byte(s) for a value of `type_` and payload `size`."""
    if size < 29:
        bits, extra = size, b""
    elif size < 285:
        bits, extra = 29, bytes([size - 29])
    else:
        bits, extra = 30, (size - 285).to_bytes(2, "big")
    if type_ <= 7:
        return bytes([(type_ << 5) | bits]) + extra
    return bytes([bits, type_ - 7]) + extra  # extended type: type bits 0, then type - 7


def enc_str(s):
    b = s.encode()
    return ctrl(2, len(b)) + b


def enc_uint(type_, n, width):
    b = n.to_bytes(width, "big").lstrip(b"\0")
    return ctrl(type_, len(b)) + b


def enc_map(pairs):
    out = ctrl(7, len(pairs))
    for k, v in pairs:
        out += enc_str(k) + v
    return out


def build(nets):
    # a binary trie over the address bits; leaves hold data offsets
    root = [None, None]
    datas = []
    for net, asn, org in nets:
        n = ipaddress.ip_network(net)
        off = sum(len(d) for d in datas)
        datas.append(enc_map([("autonomous_system_number", enc_uint(6, asn, 4)),
                              ("autonomous_system_organization", enc_str(org))]))
        bits = int(n.network_address)
        node = root
        for i in range(n.prefixlen):
            b = (bits >> (31 - i)) & 1
            if i == n.prefixlen - 1:
                node[b] = ("data", off)
            else:
                if not isinstance(node[b], list):
                    node[b] = [None, None]
                node = node[b]
    # number the nodes breadth first
    order, index = [root], {id(root): 0}
    for nd in order:
        for child in nd:
            if isinstance(child, list):
                index[id(child)] = len(order)
                order.append(child)
    count = len(order)
    tree = b""
    for nd in order:
        recs = []
        for child in nd:
            if child is None:
                recs.append(count)  # no data
            elif isinstance(child, list):
                recs.append(index[id(child)])
            else:
                recs.append(count + 16 + child[1])
        tree += b"".join(r.to_bytes(3, "big") for r in recs)
    meta = enc_map([
        ("binary_format_major_version", enc_uint(5, 2, 2)),
        ("binary_format_minor_version", ctrl(5, 0)),
        ("build_epoch", enc_uint(9, 1700000000, 8)),
        ("database_type", enc_str("GeoLite2-ASN")),
        ("description", enc_map([("en", enc_str("vigie test ASN database"))])),
        ("ip_version", enc_uint(5, 4, 2)),
        ("languages", ctrl(11, 1) + enc_str("en")),
        ("node_count", enc_uint(6, count, 4)),
        ("record_size", enc_uint(5, 24, 2)),
    ])
    return tree + b"\0" * 16 + b"".join(datas) + b"\xab\xcd\xefMaxMind.com" + meta


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    nets = []
    for spec in sys.argv[2:]:
        net, rest = spec.split("=", 1)
        asn, _, org = rest.partition(":")
        nets.append((net, int(asn), org or "AS" + asn))
    with open(sys.argv[1], "wb") as f:
        f.write(build(nets))


if __name__ == "__main__":
    main()
