"""Text the Linux driver hands to the kernel's tools, built from the DTOs: pure functions.

Security groups (DESIGN §6). This kernel family has no bridge-family conntrack
(nf_conntrack_bridge) or bridge meta expressions, so the state lives in two tables replaced
in ONE ``nft -f`` transaction:

- ``table bridge monostack``: stateless, per port. Frames from a port's tap are checked
  against its MAC, IPs and allowed address pairs (ARP and IPv6 link-local/ND allowed), and
  marked with the port's index (low 12 bits); frames forwarded to a tap get the index in
  the next 12 bits; the top byte names the table. Dispatch by verdict maps on the tap name.
- ``table inet monostack``: stateful, fed bridged IP traffic by br_netfilter. A conntrack
  zone per network (by bridge name: tenant CIDRs overlap on one host), then per-port chains
  reached through verdict maps on the mark: established/related accepted, DHCP and metadata
  always allowed, then a jump to a chain per security group, then drop. Remote-group rules
  match named sets of the group's member addresses.

Dispatch goes through named verdict maps (port_from/port_to on the tap name, port_egress/
port_ingress on the mark), and a port's chains are named by a mark index that stays its own
while it lives (``port_indexes``). So a plug, the common change, is one small batch adding the
port's chains, map entries and member addresses (``firewall_additions``); anything else
replaces both tables. Either is one atomic ``nft -f``.
"""
import ipaddress

TABLE = "monostack"
METADATA_IP = "169.254.169.254"
ICMP_NUMBERS = {1: "icmp", 58: "ipv6-icmp"}
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132, "udplite": 136,
                    "dccp": 33, "gre": 47, "esp": 50, "ah": 51, "vrrp": 112, "ospf": 89, "igmp": 2, "pgm": 113,
                    "rsvp": 46, "egp": 8, "ipip": 4, "ipv6-encap": 41, "hopopt": 0, "ipv6-frag": 44,
                    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43}
PORT_PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp", 136: "udplite", 33: "dccp"}


def _short(uuid_str):
    return str(uuid_str).replace("-", "")[:12]


def _set(items):
    return "{ " + ", ".join(items) + " }"


def _link_local(mac):
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + bytes(iid)))


def _split(addresses):
    v4, v6 = [], []
    for a in addresses:
        net = ipaddress.ip_network(a, strict=False)
        (v4 if net.version == 4 else v6).append(str(net) if net.num_addresses > 1 else str(net.network_address))
    return v4, v6


def _rule_text(rule, direction):
    parts = []
    v6 = rule["ethertype"] == "IPv6"
    ip = "ip6" if v6 else "ip"
    parts.append(f"meta nfproto {'ipv6' if v6 else 'ipv4'}")
    peer = "saddr" if direction == "ingress" else "daddr"
    if rule.get("remote_ip_prefix"):
        parts.append(f"{ip} {peer} {ipaddress.ip_network(rule['remote_ip_prefix'], strict=False)}")
    elif rule.get("remote_group_id"):
        parts.append(f"{ip} {peer} @rg_{_short(rule['remote_group_id'])}_{'6' if v6 else '4'}")
    protocol = rule.get("protocol")
    if protocol not in (None, "", "any"):
        number = int(protocol) if str(protocol).isdigit() else PROTOCOL_NUMBERS[str(protocol)]
        if number in (1, 58) and (rule.get("port_range_min") is not None):
            kind = "icmpv6" if number == 58 or v6 else "icmp"
            parts.append(f"{kind} type {rule['port_range_min']}")
            if rule.get("port_range_max") is not None:
                parts.append(f"{kind} code {rule['port_range_max']}")
        elif number in (1, 58):
            parts.append(f"meta l4proto {'ipv6-icmp' if v6 else 'icmp'}")
        elif number in PORT_PROTOCOLS and rule.get("port_range_min") is not None:
            lo, hi = rule["port_range_min"], rule.get("port_range_max") or rule["port_range_min"]
            parts.append(f"{PORT_PROTOCOLS[number]} dport {lo if lo == hi else f'{lo}-{hi}'}")
        else:
            parts.append(f"meta l4proto {number}")
    return " ".join(parts) + " accept"


def _tag_of(table):
    # Packet marks are global to the host: the top byte tags them with this table, so two
    # tables (two agents in tests) never act on each other's marks. Low 12 bits: the index
    # of the port the frame came from; next 12 bits: the port it goes to.
    return (sum(map(ord, table)) % 255 + 1) << 24


def port_indexes(ports, previous=None):
    """A stable mark index (1..4095) per port devname: kept from ``previous`` while the port
    stays, the smallest free one for a new port (chains and map keys are named by it)."""
    previous = previous or {}
    names = [p["devname"] for p in ports if p.get("port_security", True)]
    out = {n: previous[n] for n in names if n in previous}
    used = set(out.values())
    free = (i for i in range(1, 4096) if i not in used)
    for n in names:
        if n not in out:
            out[n] = next(free)
    return out


def _bridge_port_chains(p, idx, tag):
    """{chain name: [rules]} of the bridge table for one port (anti-spoofing and marks)."""
    macs = [p["mac"]] + [a["mac_address"] for a in p.get("allowed_address_pairs", []) if a.get("mac_address")]
    v4, v6 = _split(p["ips"] + [a["ip_address"] for a in p.get("allowed_address_pairs", [])])
    v6 = v6 + [_link_local(m) for m in macs]
    out = [f"meta mark set {tag | idx:#x}",
           f"ether saddr != {_set(sorted(set(macs)))} drop",
           f"ether type arp arp saddr ether != {_set(sorted(set(macs)))} drop"]
    out.append(f"ether type arp arp saddr ip != {_set(v4)} drop" if v4 else "ether type arp drop")
    out.append("ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept")
    out.append("ether type ip udp sport 67 drop")
    out.append(f"ether type ip ip saddr != {_set(v4)} drop" if v4 else "ether type ip drop")
    out.append("ether type ip6 icmpv6 type nd-router-advert drop")
    out.append("ether type ip6 udp sport 547 drop")
    out.append(f"ether type ip6 ip6 saddr != {_set(['::'] + v6)} drop")
    return {f"from_{idx}": out, f"to_{idx}": [f"meta mark set meta mark and 0x00000fff or {tag | idx << 12:#x}"]}


def _inet_port_chains(p, idx):
    groups = p.get("security_groups", [])
    egress = ["ct state established,related accept", "ct state invalid drop", "udp sport 68 udp dport 67 accept",
              "udp sport 546 udp dport 547 accept", f"ip daddr {METADATA_IP} tcp dport 80 accept",
              "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
              "mld-listener-report, mld2-listener-report } accept"]
    egress += [f"jump sg_{_short(gid)}_egress" for gid in groups] + ["drop"]
    ingress = ["ct state established,related accept", "ct state invalid drop", "udp sport 67 udp dport 68 accept",
               "udp sport 547 udp dport 546 accept",
               "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept"]
    ingress += [f"jump sg_{_short(gid)}_ingress" for gid in groups] + ["drop"]
    return {f"port_{idx}_egress": egress, f"port_{idx}_ingress": ingress}


def _map_elements(p, idx, tag):
    """(map, key, verdict) of one port in the four dispatch maps."""
    dev = p["devname"]
    return [("bridge", "port_from", f'"{dev}"', f"jump from_{idx}"),
            ("bridge", "port_to", f'"{dev}"', f"jump to_{idx}"),
            ("inet", "port_egress", f"{tag | idx:#x}", f"jump port_{idx}_egress"),
            ("inet", "port_ingress", f"{tag | idx << 12:#x}", f"jump port_{idx}_ingress")]


def _chain_block(name, rules, head=None):
    return [f"  chain {name} {{"] + ([f"    {head}"] if head else []) + [f"    {r}" for r in rules] + ["  }"]


def firewall_ruleset(fw, table=TABLE, index=None):
    """The nft script replacing both tables atomically. Ports without port security are left
    out. ``index``: the ports' mark indexes (``port_indexes``), numbered in order when None."""
    TABLE = table  # noqa: N806  (one name for both families)
    tag = _tag_of(table)
    ports = [p for p in fw["ports"] if p.get("port_security", True)]
    index = index or port_indexes(ports)
    lines = [f"add table bridge {TABLE}", f"delete table bridge {TABLE}",
             f"add table inet {TABLE}", f"delete table inet {TABLE}"]
    elements = {"port_from": [], "port_to": [], "port_egress": [], "port_ingress": []}
    for p in ports:
        for _family, name, key, verdict in _map_elements(p, index[p["devname"]], tag):
            elements[name].append(f"{key} : {verdict}")

    def vmap(name, kind):
        out = [f"  map {name} {{", f"    type {kind} : verdict;"]
        if elements[name]:
            out.append(f"    elements = {_set(elements[name])}")
        return out + ["  }"]

    # --- bridge: anti-spoofing and marks
    b = [f"table bridge {TABLE} {{"] + vmap("port_from", "ifname") + vmap("port_to", "ifname")
    for p in ports:
        for name, rules in _bridge_port_chains(p, index[p["devname"]], tag).items():
            b += _chain_block(name, rules)
    b += _chain_block("prerouting", ["iifname vmap @port_from"],
                      "type filter hook prerouting priority -300; policy accept;")
    b += _chain_block("forward_mark", ["oifname vmap @port_to"], "type filter hook forward priority -100; policy accept;")
    b.append("}")

    # --- inet: zones, state, security groups
    i = [f"table inet {TABLE} {{"] + vmap("port_egress", "mark") + vmap("port_ingress", "mark")
    for gid, sets in sorted(fw.get("members", {}).items()):
        for version, kind in (("IPv4", "ipv4_addr"), ("IPv6", "ipv6_addr")):
            name = f"rg_{_short(gid)}_{version[-1]}"
            i.append(f"  set {name} {{")
            i.append(f"    type {kind}; flags interval;")
            if sets.get(version):
                i.append(f"    elements = {_set(sorted(set(sets[version])))}")
            i.append("  }")
    for gid, group in sorted(fw.get("groups", {}).items()):
        for direction in ("ingress", "egress"):
            i += _chain_block(f"sg_{_short(gid)}_{direction}", [_rule_text(rule, direction) for rule in group["rules"]
                                                                 if rule["direction"] == direction])
    for p in ports:
        for name, rules in _inet_port_chains(p, index[p["devname"]]).items():
            i += _chain_block(name, rules)
    zones = sorted(fw.get("zones", {}).items())
    zone_map = _set(f'{chr(34)}{b_}{chr(34)} : {z}' for b_, z in zones)
    i += _chain_block("zone", [f"ct zone set iifname map {zone_map}"] if zones else [],
                      "type filter hook prerouting priority -300; policy accept;")
    i += _chain_block("zone_out", [f"ct zone set oifname map {zone_map}"] if zones else [],
                      "type filter hook output priority -300; policy accept;")
    i += _chain_block("from_ports", ["meta mark and 0xff000fff vmap @port_egress"],
                      "type filter hook prerouting priority -150; policy accept;")
    i += _chain_block("to_ports", ["meta mark and 0xfffff000 vmap @port_ingress"],
                      "type filter hook forward priority 0; policy accept;")
    i.append("}")
    return "\n".join(lines + b + i) + "\n"


def firewall_additions(old, new, table=TABLE, index=None):
    """The nft script taking the tables from ``old`` to ``new`` by additions only, when that is
    all the change is (ports added with their chains and map entries, member addresses added
    to remote-group sets; groups, rules, zones and the other ports unchanged), else None.
    Adding leaves the kernel's hooks and existing objects alone, so it costs a fraction of
    replacing the tables; still one atomic transaction."""
    sec = lambda fw: {p["devname"]: p for p in fw["ports"] if p.get("port_security", True)}  # noqa: E731
    old_ports, new_ports = sec(old), sec(new)
    if (old.get("groups") != new.get("groups") or old.get("zones") != new.get("zones")
            or set(old.get("members", {})) != set(new.get("members", {}))
            or any(new_ports.get(d) != p for d, p in old_ports.items())):
        return None
    added_members = {}
    for gid, sets in new.get("members", {}).items():
        for version in ("IPv4", "IPv6"):
            before, after = set(old["members"][gid].get(version) or ()), set(sets.get(version) or ())
            if not before <= after:
                return None
            if after - before:
                added_members[f"rg_{_short(gid)}_{version[-1]}"] = sorted(after - before)
    added = [p for d, p in new_ports.items() if d not in old_ports]
    index = index or port_indexes(list(new_ports.values()))
    tag = _tag_of(table)
    lines = []
    for name, items in sorted(added_members.items()):
        lines.append(f"add element inet {table} {name} {_set(items)}")
    for p in added:
        idx = index[p["devname"]]
        for family, chains in (("bridge", _bridge_port_chains(p, idx, tag)), ("inet", _inet_port_chains(p, idx))):
            for name, rules in chains.items():
                lines.append(f"add chain {family} {table} {name}")
                lines.append(f"flush chain {family} {table} {name}")
                lines += [f"add rule {family} {table} {name} {r}" for r in rules]
        for family, name, key, verdict in _map_elements(p, idx, tag):
            lines.append(f"add element {family} {table} {name} {{ {key} : {verdict} }}")
    return "\n".join(lines) + "\n" if lines else ""


# --- router namespace -------------------------------------------------------------------------

NAT_TABLE = "monostack_nat"


def router_nat_ruleset(router, gateway_device):
    """SNAT for the router's subnets, 1:1 DNAT/SNAT per floating IP, port forwardings."""
    lines = [f"add table ip {NAT_TABLE}", f"delete table ip {NAT_TABLE}", f"table ip {NAT_TABLE} {{"]
    gw = router.get("gateway")
    pre, post, out = [], [], []
    if gw:
        gw_ips = [a.split("/")[0] for a in gw["addresses"] if ":" not in a]
        for fip in router.get("floating_ips", []):
            pre.append(f"ip daddr {fip['floating_ip']} dnat to {fip['fixed_ip']}")
            out.append(f"ip daddr {fip['floating_ip']} dnat to {fip['fixed_ip']}")
            post.append(f'ip saddr {fip["fixed_ip"]} oifname "{gateway_device}" snat to {fip["floating_ip"]}')
        for pf in router.get("port_forwardings", []):
            pre.append(f"ip daddr {pf['floating_ip']} {pf['protocol']} dport {pf['external_port']} "
                       f"dnat to {pf['internal_ip']}:{pf['internal_port']}")
        cidrs = [c for i in router.get("interfaces", []) for c in i["cidrs"] if ":" not in c]
        if gw.get("enable_snat") and gw_ips and cidrs:
            post.append(f'ip saddr {_set(cidrs)} oifname "{gateway_device}" snat to {gw_ips[0]}')
    for name, hook, prio, rules in (("prerouting", "prerouting", "dstnat", pre), ("output", "output", "-100", out),
                                    ("postrouting", "postrouting", "srcnat", post)):
        lines.append(f"  chain {name} {{")
        lines.append(f"    type nat hook {hook} priority {prio}; policy accept;")
        lines += [f"    {r}" for r in rules]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- dnsmasq ----------------------------------------------------------------------------------

def _tag(subnet_id):
    return f"subnet-{subnet_id}"


def dnsmasq_hosts(dhcp):
    """dhcp-hostsfile lines: MAC, set:port tag, hostname, address (one per fixed IP that DHCP serves)."""
    served = {s["id"]: s for s in dhcp["subnets"] if s["enable_dhcp"] and
              (s["ip_version"] == 4 or s.get("ipv6_address_mode") == "dhcpv6-stateful")}
    nets = {sid: ipaddress.ip_network(s["cidr"]) for sid, s in served.items()}
    lines = []
    for host in dhcp["hosts"]:
        for ip in host["ips"]:
            addr = ipaddress.ip_address(ip)
            if not any(addr in n for n in nets.values()):
                continue
            shown = f"[{ip}]" if addr.version == 6 else ip
            lines.append(f"{host['mac']},set:port-{host['port_id']},{host['hostname']}.{dhcp['dns_domain']},{shown}")
    return "\n".join(lines) + ("\n" if lines else "")


def dnsmasq_opts(dhcp, dhcp_ips):
    """dhcp-optsfile: router, DNS, classless static routes (metadata, host routes, default) per
    subnet; per-port extra_dhcp_opts."""
    lines = []
    mine = {ipaddress.ip_address(ip) for ip in dhcp_ips}
    for s in dhcp["subnets"]:
        if not s["enable_dhcp"] or s["ip_version"] != 4:
            if s["enable_dhcp"] and s["ip_version"] == 6 and s.get("dns_nameservers"):
                lines.append(f"tag:{_tag(s['id'])},option6:dns-server,"
                             + ",".join(f"[{d}]" for d in s["dns_nameservers"]))
            continue
        net = ipaddress.ip_network(s["cidr"])
        dhcp_ip = next((str(ip) for ip in mine if ip in net), None)
        tag = _tag(s["id"])
        if s.get("dns_nameservers"):
            lines.append(f"tag:{tag},option:dns-server,{','.join(s['dns_nameservers'])}")
        routes = []
        if dhcp_ip:
            routes.append(f"{METADATA_IP}/32,{dhcp_ip}")
        for r in s.get("host_routes", []):
            routes.append(f"{r['destination']},{r['nexthop']}")
        if s.get("gateway_ip"):
            routes.append(f"0.0.0.0/0,{s['gateway_ip']}")
            lines.append(f"tag:{tag},option:router,{s['gateway_ip']}")
        else:
            lines.append(f"tag:{tag},option:router")
        if routes:
            lines.append(f"tag:{tag},option:classless-static-route,{','.join(routes)}")
            lines.append(f"tag:{tag},249,{','.join(routes)}")
    for host in dhcp["hosts"]:
        for opt in host.get("opts", []):
            prefix = "option6:" if int(opt.get("ip_version", 4)) == 6 else "option:"
            name = opt["opt_name"]
            key = name if name.isdigit() else f"{prefix}{name}"
            lines.append(f"tag:port-{host['port_id']},{key},{opt.get('opt_value') or ''}")
    return "\n".join(lines) + ("\n" if lines else "")


def dnsmasq_argv(dhcp, *, program, interface, conf_dir, lease_duration):
    net = dhcp["network"]
    argv = [program, "--no-hosts", "--no-resolv", f"--pid-file={conf_dir}/pid", f"--dhcp-hostsfile={conf_dir}/host", f"--addn-hosts={conf_dir}/addn_hosts",
            f"--dhcp-optsfile={conf_dir}/opts", f"--dhcp-leasefile={conf_dir}/leases",
            "--dhcp-match=set:ipxe,175", "--local-service", f"--interface={interface}", "--bind-interfaces",
            "--conf-file=/dev/null", f"--domain={dhcp['dns_domain']}", "--user=root", "--group=root",
            f"--dhcp-option-force=option:mtu,{net['mtu']}", "--dhcp-authoritative",
            f"--dhcp-lease-max={max(256, len(dhcp['hosts']) * 2)}"]
    for s in dhcp["subnets"]:
        if not s["enable_dhcp"]:
            continue
        cidr = ipaddress.ip_network(s["cidr"])
        if cidr.version == 4:
            argv.append(f"--dhcp-range=set:{_tag(s['id'])},{cidr.network_address},static,{cidr.netmask},"
                        f"{lease_duration}s")
        elif s.get("ipv6_address_mode") in ("dhcpv6-stateful", "dhcpv6-stateless"):
            mode = "static" if s["ipv6_address_mode"] == "dhcpv6-stateful" else "ra-stateless"
            argv.append(f"--dhcp-range=set:{_tag(s['id'])},{cidr.network_address},{mode},{cidr.prefixlen},"
                        f"{lease_duration}s")
    return argv


# --- radvd ------------------------------------------------------------------------------------

RA_MODES = ("slaac", "dhcpv6-stateless", "dhcpv6-stateful")


def radvd_conf(legs):
    """radvd.conf for a router namespace: one ``interface`` block per leg whose IPv6 subnets ask
    for router advertisements (``legs``: [{"ns_end", "ra": [{"cidr", "mode"}]}]), flags as
    Neutron sets them: slaac -> autonomous prefix; dhcpv6-stateless -> autonomous + O flag;
    dhcpv6-stateful -> M and O flags, no autonomous prefix. Empty when nothing asks."""
    out = []
    for leg in legs:
        ras = [r for r in leg.get("ra") or [] if r.get("mode") in RA_MODES and ":" in r["cidr"]]
        if not ras:
            continue
        modes = {r["mode"] for r in ras}
        out.append(f"interface {leg['ns_end']} {{")
        out.append("  AdvSendAdvert on;")
        out.append("  MinRtrAdvInterval 3;")
        out.append("  MaxRtrAdvInterval 10;")
        out.append(f"  AdvManagedFlag {'on' if 'dhcpv6-stateful' in modes else 'off'};")
        out.append(f"  AdvOtherConfigFlag {'on' if modes & {'dhcpv6-stateless', 'dhcpv6-stateful'} else 'off'};")
        if leg.get("mtu"):
            out.append(f"  AdvLinkMTU {leg['mtu']};")
        for r in sorted(ras, key=lambda r: r["cidr"]):
            out.append(f"  prefix {ipaddress.ip_network(r['cidr'])} {{")
            out.append("    AdvOnLink on;")
            out.append(f"    AdvAutonomous {'off' if r['mode'] == 'dhcpv6-stateful' else 'on'};")
            out.append("  };")
        out.append("};")
    return "\n".join(out) + ("\n" if out else "")
