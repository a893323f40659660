"""Nova's JSON shapes (api-ref) for flavors, key pairs and servers."""
from apps.core.api.versions import service_url

from ..selectors import server_status


def _link(request, *parts):
    return service_url(request, "/compute/v2.1", *parts, slash=False)


def _bookmark(request, *parts):
    return service_url(request, "/compute", *parts, slash=False)


def flavor_links(request, flavorid):
    return [{"rel": "self", "href": _link(request, "flavors", flavorid)},
            {"rel": "bookmark", "href": _bookmark(request, "flavors", flavorid)}]


def flavor_brief(request, flavor):
    return {"id": flavor.flavorid, "name": flavor.name, "links": flavor_links(request, flavor.flavorid)}


def flavor_detail(request, flavor):
    return {"id": flavor.flavorid, "name": flavor.name, "ram": flavor.memory_mb, "disk": flavor.root_gb,
            "swap": flavor.swap or "", "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled, "vcpus": flavor.vcpus,
            "os-flavor-access:is_public": flavor.is_public, "rxtx_factor": flavor.rxtx_factor,
            "links": flavor_links(request, flavor.flavorid)}


def keypair_view(keypair, *, version, detail=False, private_key=None, index=False):
    body = {"name": keypair.name, "public_key": keypair.public_key, "fingerprint": keypair.fingerprint}
    if version >= "2.2":
        body["type"] = keypair.type
    if private_key is not None:
        body["private_key"] = private_key
        body["user_id"] = keypair.user_id
    if not index and private_key is None:
        body["user_id"] = keypair.user_id
    if detail:
        body.update({"created_at": keypair.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f"), "deleted": False,
                     "deleted_at": None, "updated_at": None, "id": keypair.pk})
    return body


def _time(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _usg_time(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def addresses(server):
    out = {}
    for nic in server.network_info or []:
        name = nic.get("network_name") or nic["network_id"]
        for ip in nic.get("ips") or []:
            out.setdefault(name, []).append({"version": ip["version"], "addr": ip["address"],
                                             "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": nic["mac"]})
        out.setdefault(name, [])
    return out


def host_id(server):
    import hashlib
    if not server.host:
        return ""
    return hashlib.sha224((server.project_id + server.host).encode()).hexdigest()


def server_links(request, server):
    return [{"rel": "self", "href": _link(request, "servers", str(server.uuid))},
            {"rel": "bookmark", "href": _bookmark(request, "servers", str(server.uuid))}]


def server_brief(request, server):
    return {"id": str(server.uuid), "name": server.name, "links": server_links(request, server)}


def server_detail(request, server, *, admin):
    status = server_status(server)
    body = {
        "id": str(server.uuid), "name": server.name, "status": status, "tenant_id": server.project_id,
        "user_id": server.user_id, "metadata": dict(server.metadata or {}), "hostId": host_id(server),
        "image": {"id": server.image_ref, "links": [{"rel": "bookmark", "href": _bookmark(
            request, "images", server.image_ref)}]} if server.image_ref else "",
        "flavor": {"id": server.flavor.flavorid, "links": [{"rel": "bookmark", "href": _bookmark(
            request, "flavors", server.flavor.flavorid)}]},
        "created": _time(server.created_at), "updated": _time(server.updated_at),
        "addresses": addresses(server), "accessIPv4": server.access_ipv4 or "",
        "accessIPv6": server.access_ipv6 or "", "links": server_links(request, server),
        "OS-DCF:diskConfig": "MANUAL", "progress": server.progress if status in ("BUILD", "ACTIVE") else 0,
        "OS-EXT-AZ:availability_zone": server.availability_zone or "",
        "config_drive": "True" if server.config_drive else "", "key_name": server.key_name,
        "OS-SRV-USG:launched_at": _usg_time(server.launched_at),
        "OS-SRV-USG:terminated_at": _usg_time(server.terminated_at),
        "OS-EXT-STS:task_state": server.task_state, "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state, "os-extended-volumes:volumes_attached": [],
    }
    if server.security_groups and server.vm_state != "error":
        body["security_groups"] = [{"name": n} for n in server.security_groups]
    if admin:
        body.update({"OS-EXT-SRV-ATTR:host": server.host or None,
                     "OS-EXT-SRV-ATTR:hypervisor_hostname": server.host or None,
                     "OS-EXT-SRV-ATTR:instance_name": server.domain_name})
        version = getattr(request, "api_version", None)
        if version is not None and version >= "2.3":  # nova's extended server attributes of 2.3
            body.update({"OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
                         "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
                         "OS-EXT-SRV-ATTR:hostname": server.hostname,
                         "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                         "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda" if server.launched_at else None,
                         "OS-EXT-SRV-ATTR:user_data": server.user_data})
    if status in ("ERROR", "DELETED") and server.fault:
        fault = dict(server.fault)
        if not admin and fault.get("code", 500) >= 500:
            fault.pop("details", None)
        body["fault"] = fault
    return body
