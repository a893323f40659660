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


def firewall_ruleset(fw, table=TABLE):
    """The nft script replacing both tables atomically. Ports without port security are left out."""
    TABLE = table  # noqa: N806  (one name for both families)
    # Packet marks are global to the host: the top byte tags them with this table, so two
    # tables (two agents in tests) never act on each other's marks. Low 12 bits: the index
    # of the port the frame came from; next 12 bits: the port it goes to.
    tag = (sum(map(ord, table)) % 255 + 1) << 24
    ports = [p for p in fw["ports"] if p.get("port_security", True)]
    lines = [f"add table bridge {TABLE}", f"delete table bridge {TABLE}",
             f"add table inet {TABLE}", f"delete table inet {TABLE}"]

    # --- bridge: anti-spoofing and marks
    b = [f"table bridge {TABLE} {{"]
    out_map, in_map = [], []
    for idx, p in enumerate(ports, start=1):
        dev = p["devname"]
        macs = [p["mac"]] + [a["mac_address"] for a in p.get("allowed_address_pairs", []) if a.get("mac_address")]
        v4, v6 = _split(p["ips"] + [a["ip_address"] for a in p.get("allowed_address_pairs", [])])
        v6 = v6 + [_link_local(m) for m in macs]
        b.append(f"  chain from_{idx} {{")
        b.append(f"    meta mark set {tag | idx:#x}")
        b.append(f"    ether saddr != {_set(sorted(set(macs)))} drop")
        b.append(f"    ether type arp arp saddr ether != {_set(sorted(set(macs)))} drop")
        if v4:
            b.append(f"    ether type arp arp saddr ip != {_set(v4)} drop")
        else:
            b.append("    ether type arp drop")
        b.append("    ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept")
        b.append("    ether type ip udp sport 67 drop")
        if v4:
            b.append(f"    ether type ip ip saddr != {_set(v4)} drop")
        else:
            b.append("    ether type ip drop")
        b.append("    ether type ip6 icmpv6 type nd-router-advert drop")
        b.append("    ether type ip6 udp sport 547 drop")
        b.append(f"    ether type ip6 ip6 saddr != {_set(['::'] + v6)} drop")
        b.append("  }")
        b.append(f"  chain to_{idx} {{")
        b.append(f"    meta mark set meta mark and 0x00000fff or {tag | idx << 12:#x}")
        b.append("  }")
        out_map.append(f'"{dev}" : jump from_{idx}')
        in_map.append(f'"{dev}" : jump to_{idx}')
    b.append("  chain prerouting {")
    b.append("    type filter hook prerouting priority -300; policy accept;")
    if out_map:
        b.append(f"    iifname vmap {_set(out_map)}")
    b.append("  }")
    b.append("  chain forward_mark {")
    b.append("    type filter hook forward priority -100; policy accept;")
    if in_map:
        b.append(f"    oifname vmap {_set(in_map)}")
    b.append("  }")
    b.append("}")

    # --- inet: zones, state, security groups
    i = [f"table inet {TABLE} {{"]
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
            i.append(f"  chain sg_{_short(gid)}_{direction} {{")
            for rule in group["rules"]:
                if rule["direction"] == direction:
                    i.append(f"    {_rule_text(rule, direction)}")
            i.append("  }")
    egress_map, ingress_map = [], []
    for idx, p in enumerate(ports, start=1):
        groups = p.get("security_groups", [])
        i.append(f"  chain port_{idx}_egress {{")
        i.append("    ct state established,related accept")
        i.append("    ct state invalid drop")
        i.append("    udp sport 68 udp dport 67 accept")
        i.append("    udp sport 546 udp dport 547 accept")
        i.append(f"    ip daddr {METADATA_IP} tcp dport 80 accept")
        i.append("    icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
                 "mld-listener-report, mld2-listener-report } accept")
        for gid in groups:
            i.append(f"    jump sg_{_short(gid)}_egress")
        i.append("    drop")
        i.append("  }")
        i.append(f"  chain port_{idx}_ingress {{")
        i.append("    ct state established,related accept")
        i.append("    ct state invalid drop")
        i.append("    udp sport 67 udp dport 68 accept")
        i.append("    udp sport 547 udp dport 546 accept")
        i.append("    icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, "
                 "mld-listener-query } accept")
        for gid in groups:
            i.append(f"    jump sg_{_short(gid)}_ingress")
        i.append("    drop")
        i.append("  }")
        egress_map.append(f"{tag | idx:#x} : jump port_{idx}_egress")
        ingress_map.append(f"{tag | idx << 12:#x} : jump port_{idx}_ingress")
    zones = sorted(fw.get("zones", {}).items())
    i.append("  chain zone {")
    i.append("    type filter hook prerouting priority -300; policy accept;")
    if zones:
        i.append(f"    ct zone set iifname map {_set(f'{chr(34)}{b_}{chr(34)} : {z}' for b_, z in zones)}")
    i.append("  }")
    i.append("  chain zone_out {")
    i.append("    type filter hook output priority -300; policy accept;")
    if zones:
        i.append(f"    ct zone set oifname map {_set(f'{chr(34)}{b_}{chr(34)} : {z}' for b_, z in zones)}")
    i.append("  }")
    i.append("  chain from_ports {")
    i.append("    type filter hook prerouting priority -150; policy accept;")
    if egress_map:
        i.append(f"    meta mark and 0xff000fff vmap {_set(egress_map)}")
    i.append("  }")
    i.append("  chain to_ports {")
    i.append("    type filter hook forward priority 0; policy accept;")
    if ingress_map:
        i.append(f"    meta mark and 0xfffff000 vmap {_set(ingress_map)}")
    i.append("  }")
    i.append("}")
    return "\n".join(lines + b + i) + "\n"


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
