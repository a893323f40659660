"""What cloud-init reads about a server: the config drive's files and the metadata service's
tree (OpenStack JSON and the EC2 tree), built from the same data."""
import base64
import binascii
import ipaddress
import json

OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06",
                      "2017-02-22", "2018-08-27", "2020-10-14", "latest")
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01",
                "2008-09-01", "2009-04-04", "latest")


def user_data_bytes(server):
    if not server.user_data:
        return None
    try:
        return base64.b64decode(server.user_data)
    except (binascii.Error, ValueError):
        return None


def meta_data(server):
    keys = []
    public_keys = {}
    if server.key_name and server.key_data:
        public_keys[server.key_name] = server.key_data
        keys.append({"name": server.key_name, "type": "ssh", "data": server.key_data})
    return {"uuid": str(server.uuid), "name": server.name, "hostname": server.hostname,
            "launch_index": server.launch_index, "availability_zone": server.availability_zone or None,
            "project_id": server.project_id, "public_keys": public_keys, "keys": keys,
            "meta": dict(server.metadata or {}), "devices": [], "dedicated_cpus": []}


def network_data(server):
    links, networks, services = [], [], []
    for i, nic in enumerate(server.network_info or []):
        link_id = f"tap{nic['port_id'][:11]}"
        vif = nic.get("vif") or {}
        links.append({"id": link_id, "vif_id": nic["port_id"], "type": "bridge",
                      "ethernet_mac_address": nic.get("mac"), "mtu": vif.get("mtu")})
        for j, ip in enumerate(nic.get("ips") or []):
            addr = ipaddress.ip_address(ip["address"])
            networks.append({"id": f"network{len(networks)}", "link": link_id, "network_id": nic["network_id"],
                             "type": "ipv4_dhcp" if addr.version == 4 else "ipv6_dhcp"})
    return {"links": links, "networks": networks, "services": services}


def ec2_meta_data(server):
    first_v4 = next((ip["address"] for nic in server.network_info or [] for ip in nic.get("ips") or []
                     if ipaddress.ip_address(ip["address"]).version == 4), "")
    data = {"ami-id": "ami-00000001", "ami-launch-index": server.launch_index, "ami-manifest-path": "FIXME",
            "hostname": server.hostname, "instance-action": "none",
            "instance-id": f"i-{server.uuid.int % (1 << 32):08x}",
            "instance-type": (server.flavor_info or {}).get("name", ""), "local-hostname": server.hostname,
            "local-ipv4": first_v4, "placement": {"availability-zone": server.availability_zone or ""},
            "public-hostname": server.hostname, "public-ipv4": "", "reservation-id": server.reservation_id,
            "security-groups": list(server.security_groups or ["default"])}
    if server.key_name and server.key_data:
        data["public-keys"] = {"0": {"openssh-key": server.key_data, "_name": f"0={server.key_name}"}}
    return data


def config_drive_files(server):
    """{path: text or {"b64": ...}} for the ISO labelled config-2."""
    files = {}
    md = json.dumps(meta_data(server))
    nd = json.dumps(network_data(server))
    user_data = user_data_bytes(server)
    for version in OPENSTACK_VERSIONS:
        base = f"openstack/{version}"
        files[f"{base}/meta_data.json"] = md
        files[f"{base}/vendor_data.json"] = "{}"
        files[f"{base}/vendor_data2.json"] = "{}"
        files[f"{base}/network_data.json"] = nd
        if user_data is not None:
            files[f"{base}/user_data"] = {"b64": base64.b64encode(user_data).decode()}
    ec2 = json.dumps(ec2_meta_data(server))
    for version in ("2009-04-04", "latest"):
        files[f"ec2/{version}/meta-data.json"] = ec2
        if user_data is not None:
            files[f"ec2/{version}/user-data"] = {"b64": base64.b64encode(user_data).decode()}
    return files


def _listing(names):
    return "\n".join(names)


def metadata_response(server, path):
    """(status, content type, body bytes) for a path under the metadata root."""
    parts = [p for p in path.strip("/").split("/") if p]
    text = "text/plain; charset=UTF-8"
    if not parts:
        return 200, text, _listing([v for v in EC2_VERSIONS] + ["openstack"]).encode()
    if parts[0] == "openstack":
        if len(parts) == 1:
            return 200, text, _listing(OPENSTACK_VERSIONS).encode()
        if parts[1] not in OPENSTACK_VERSIONS:
            return 404, text, b"Not Found"
        files = {"meta_data.json": json.dumps(meta_data(server)), "network_data.json": json.dumps(network_data(server)),
                 "vendor_data.json": "{}", "vendor_data2.json": "{}"}
        user_data = user_data_bytes(server)
        if len(parts) == 2:
            return 200, text, _listing(sorted(files) + (["user_data"] if user_data is not None else [])).encode()
        name = "/".join(parts[2:])
        if name == "user_data":
            return (200, "application/octet-stream", user_data) if user_data is not None else (404, text, b"Not Found")
        if name in files:
            return 200, "application/json", files[name].encode()
        return 404, text, b"Not Found"
    if parts[0] not in EC2_VERSIONS:
        return 404, text, b"Not Found"
    if len(parts) == 1:
        return 200, text, b"meta-data/\nuser-data" if server.user_data else b"meta-data/"
    if parts[1] == "user-data":
        data = user_data_bytes(server)
        return (200, "application/octet-stream", data) if data is not None else (404, text, b"Not Found")
    if parts[1] != "meta-data":
        return 404, text, b"Not Found"
    node = ec2_meta_data(server)
    if "public-keys" in node:
        keys = node["public-keys"]
        node["public-keys"] = {keys["0"]["_name"]: {"openssh-key": keys["0"]["openssh-key"]}, "0": {
            "openssh-key": keys["0"]["openssh-key"]}}
    for part in parts[2:]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return 404, text, b"Not Found"
    if isinstance(node, dict):
        names = [f"{k}/" if isinstance(v, dict) else k for k, v in node.items()]
        return 200, text, _listing(names).encode()
    if isinstance(node, list):
        return 200, text, _listing(map(str, node)).encode()
    return 200, text, str(node).encode()
