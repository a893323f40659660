"""Writes of the Compute service: flavors, key pairs, quotas, and the server lifecycle as
chains of short conductor and host steps (DESIGN §1, §5).

Boot:   server_create (rows, quota) -> server_build_step (schedule + claim, bind ports)
        -> network.port_plug per port (network's host step; we listen for its end)
        -> compute.server_spawn (host) -> ACTIVE.  A failed spawn or plug releases the
        claim and reschedules to another host (bounded), else ERROR with a fault.
Delete: server_delete -> compute.server_destroy (host) -> ports deleted or released,
        claim and quota released -> DELETED.
"""
import base64
import binascii
import hashlib
import hmac
import logging
import re
import time
import uuid as uuid_module
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import exceptions as exc
from apps.core import quotas
from apps.core.context import current_request_id
from apps.core.models import Action, Host
from apps.core.services import action_start

from . import metadata as md
from . import scheduler
from .models import Flavor, FlavorAccess, InstanceAction, InstanceActionEvent, KeyPair, Server
from .selectors import access_flavor

log = logging.getLogger(__name__)

DEFAULT_FLAVORS = (("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20), ("3", "m1.medium", 2, 4096, 40),
                   ("4", "m1.large", 4, 8192, 80), ("5", "m1.xlarge", 8, 16384, 160))
SPAWN_KIND, DESTROY_KIND, POWER_KIND, SYNC_KIND = ("compute.server_spawn", "compute.server_destroy",
                                                   "compute.server_power", "compute.host_sync")
BUILD_TASK = "compute.server_build"


def conf():
    return settings.MONOSTACK["compute"]


def quota_defaults():
    c = conf()
    return {"instances": c["default_instances"], "cores": c["default_cores"], "ram": c["default_ram"],
            "key_pairs": c["default_key_pairs"]}


def _send_conductor(task_name, *args):
    from apps.core import rpc
    rpc._send(task_name, args=list(args), queue=rpc.CONDUCTOR_QUEUE)


# ============================================================================ flavors

def flavors_bootstrap():
    """Nova's default flavors m1.tiny .. m1.xlarge with ids "1".."5" (idempotent)."""
    made = 0
    for flavorid, name, vcpus, ram, disk in DEFAULT_FLAVORS:
        _, created = Flavor.objects.get_or_create(flavorid=flavorid, defaults={
            "name": name, "vcpus": vcpus, "memory_mb": ram, "root_gb": disk})
        made += created
    return made


def flavor_create(*, data):
    flavorid = data.get("id")
    if flavorid in (None, "auto"):
        flavorid = str(uuid_module.uuid4())
    flavorid = str(flavorid)
    if Flavor.objects.filter(name=data["name"]).exists():
        raise exc.Conflict(f"Flavor with name {data['name']} already exists.")
    if Flavor.objects.filter(flavorid=flavorid).exists():
        raise exc.Conflict(f"Flavor with ID {flavorid} already exists.")
    try:
        with transaction.atomic():
            return Flavor.objects.create(
                flavorid=flavorid, name=data["name"], vcpus=int(data["vcpus"]), memory_mb=int(data["ram"]),
                root_gb=int(data["disk"]), ephemeral_gb=int(data.get("OS-FLV-EXT-DATA:ephemeral", 0) or 0),
                swap=int(data.get("swap") or 0), rxtx_factor=float(data.get("rxtx_factor", 1.0)),
                is_public=bool(data.get("os-flavor-access:is_public", True)), description=data.get("description"))
    except IntegrityError:
        raise exc.Conflict(f"Flavor with ID {flavorid} already exists.") from None


def flavor_update(*, flavor, description):
    flavor.description = description
    flavor.save(update_fields=["description"])
    return flavor


def flavor_delete(*, flavor):
    if Server.objects.filter(flavor=flavor).exists():
        # Nova soft-deletes; servers keep their flavor snapshot. We hide it instead.
        Flavor.objects.filter(pk=flavor.pk).update(disabled=True, name=f"{flavor.name}-deleted-{flavor.pk}",
                                                  flavorid=f"deleted-{flavor.pk}-{flavor.flavorid}")
        return
    flavor.delete()


def flavor_access_add(*, flavor, project_id):
    if flavor.is_public:
        raise exc.Conflict("Can not add access to a public flavor.")
    _, created = FlavorAccess.objects.get_or_create(flavor=flavor, project_id=project_id)
    if not created:
        raise exc.Conflict(f"Flavor access already exists for flavor {flavor.flavorid} and project {project_id} "
                           f"combination.")


def flavor_access_remove(*, flavor, project_id):
    if flavor.is_public:
        raise exc.Conflict("Can not remove access to a public flavor.")
    if not FlavorAccess.objects.filter(flavor=flavor, project_id=project_id).delete()[0]:
        raise exc.NotFound(f"Flavor access not found for {flavor.flavorid} / {project_id} combination.")


def flavor_extra_specs_set(*, flavor, specs):
    with transaction.atomic():
        flavor = Flavor.objects.select_for_update().get(pk=flavor.pk)
        flavor.extra_specs = {**flavor.extra_specs, **{k: str(v) for k, v in specs.items()}}
        flavor.save(update_fields=["extra_specs"])
    return flavor


def flavor_extra_spec_delete(*, flavor, key):
    with transaction.atomic():
        flavor = Flavor.objects.select_for_update().get(pk=flavor.pk)
        if key not in flavor.extra_specs:
            raise exc.NotFound(f"Flavor {flavor.flavorid} has no extra specs with key {key}.")
        del flavor.extra_specs[key]
        flavor.save(update_fields=["extra_specs"])


# ============================================================================ key pairs

def _ssh_fingerprint(public_key):
    parts = public_key.strip().split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise exc.BadRequest("Keypair data is invalid: failed to generate fingerprint")
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise exc.BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    digest = hashlib.md5(raw, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _x509_fingerprint(pem):
    from cryptography import x509
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise exc.BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    from cryptography.hazmat.primitives import hashes
    return ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA1()))


def _generate(key_type, name):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    if key_type == KeyPair.SSH:
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode() + " Generated-by-Nova"
        return private, public, _ssh_fingerprint(public)
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = timezone.now()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
    public = cert.public_bytes(serialization.Encoding.PEM).decode()
    return private, public, _x509_fingerprint(public)


def keypair_create(*, user_id, name, key_type="ssh", public_key=None):
    """Import (``public_key``) or generate; returns (keypair, private key or None)."""
    private = None
    if public_key is None:
        private, public_key, fingerprint = _generate(key_type, name)
    elif key_type == KeyPair.X509:
        fingerprint = _x509_fingerprint(public_key)
    else:
        fingerprint = _ssh_fingerprint(public_key)
    with transaction.atomic():
        if KeyPair.objects.filter(user_id=user_id, name=name).exists():
            raise exc.Conflict(f"Key pair '{name}' already exists.")
        try:
            quotas.quota_consume(project_id=f"user:{user_id}", deltas={"key_pairs": 1},
                                 limits_default=quota_defaults())
        except exc.OverQuota:
            raise exc.Forbidden("Quota exceeded, too many key pairs.") from None
        try:
            with transaction.atomic():
                keypair = KeyPair.objects.create(user_id=user_id, name=name, type=key_type, public_key=public_key,
                                                 fingerprint=fingerprint)
        except IntegrityError:
            raise exc.Conflict(f"Key pair '{name}' already exists.") from None
    return keypair, private


def keypair_delete(*, keypair):
    with transaction.atomic():
        keypair.delete()
        quotas.quota_release(project_id=f"user:{keypair.user_id}", deltas={"key_pairs": 1})


# ============================================================================ quotas

def quota_set_update(*, project_id, data):
    for resource, limit in data.items():
        if resource not in quota_defaults():
            continue  # Nova ignores the quota names it no longer enforces (floating_ips, ...)
        quotas.quota_set_limit(project_id=project_id, resource=resource, limit=limit)


def quota_set_delete(*, project_id):
    from apps.core.models import QuotaLimit
    QuotaLimit.objects.filter(project_id=project_id, resource__in=list(quota_defaults())).delete()


# ============================================================================ actions

def _action(server, action, ctx_user=None, ctx_project=None):
    return InstanceAction.objects.create(server_uuid=server.uuid, action=action, request_id=current_request_id() or "",
                                         user_id=ctx_user or server.user_id, project_id=ctx_project or server.project_id)


def _event(server, action_name, event, *, result, host="", details=None):
    action = InstanceAction.objects.filter(server_uuid=server.uuid, action=action_name).order_by("-start_time").first()
    if action is None:
        action = InstanceAction.objects.create(server_uuid=server.uuid, action=action_name,
                                               user_id=server.user_id, project_id=server.project_id)
    now = timezone.now()
    InstanceActionEvent.objects.create(action=action, event=event, result=result, host=host, details=details or {},
                                       finish_time=now)
    if result == "Error":
        InstanceAction.objects.filter(pk=action.pk).update(message="Error", finish_time=now)


def _fault(message, code=500, details=""):
    return {"code": code, "message": message[:255], "details": details, "created": timezone.now().isoformat()}


# ============================================================================ server create

HOSTNAME_RE = re.compile(r"[^a-zA-Z0-9-]+")


def _sanitize_hostname(name):
    host = HOSTNAME_RE.sub("-", name.replace("_", "-")).strip("-.").lower()[:63]
    return host or "server"


def _image_for(ctx, image_ref):
    from apps.image import selectors as image_selectors
    image_id = str(image_ref).rstrip("/").rsplit("/", 1)[-1]
    try:
        image = image_selectors.access_image(ctx, image_id)
    except exc.NotFound:
        raise exc.BadRequest(f"Image {image_id} could not be found.") from None
    if image.status != "active":
        raise exc.BadRequest(f"Image {image_id} is not active.")
    return image


def _net_ctx(ctx):
    from apps.network.context import NetContext
    return NetContext.from_token(ctx)


def _resolve_networks(ctx, requested, version):
    """[{"network_id", "port_id", "fixed_ip"}] from the request's networks (DESIGN: Nova's rules)."""
    from apps.network import selectors as net_selectors
    from apps.network import services as net_services
    from apps.network.models import Network, Port

    netctx = _net_ctx(ctx)
    if requested == "none":
        return []
    if requested in (None, "auto") or requested == []:  # nova before 2.37: [] as no networks asked
        usable = list(net_selectors.network_queryset(netctx).filter(net_selectors.network_usable_q(netctx))
                      .filter(external=False).values_list("id", flat=True)[:2])
        if len(usable) > 1:
            raise exc.Conflict("Multiple possible networks found, use a Network ID to be more specific.")
        if usable:
            return [{"network_id": str(usable[0])}]
        if requested == "auto":
            topology = net_services.auto_allocated_topology_get(ctx=netctx, project_id=ctx.project_id)
            return [{"network_id": topology["id"]}]
        return []
    out = []
    for entry in requested:
        if entry.get("port"):
            try:
                port = net_selectors.access_port(netctx, entry["port"])
            except exc.NotFound:
                raise exc.BadRequest(f"Port id {entry['port']} could not be found.") from None
            if port.device_id:
                raise exc.Conflict(f"Port {port.id} is still in use.")
            out.append({"network_id": str(port.network_id), "port_id": str(port.id)})
            continue
        try:
            network = net_selectors.access_network(netctx, entry["uuid"])
        except exc.NotFound:
            raise exc.BadRequest(f"Network {entry['uuid']} could not be found.") from None
        if not (netctx.is_admin or network.project_id == ctx.project_id or network.shared
                or Network.objects.filter(pk=network.pk).filter(net_selectors.network_usable_q(netctx)).exists()):
            raise exc.BadRequest(f"Network {entry['uuid']} could not be found.")
        item = {"network_id": str(network.id)}
        if entry.get("fixed_ip"):
            if Port.objects.filter(network=network, fixed_ips__ip_address=entry["fixed_ip"]).exists():
                raise exc.Conflict(f"Fixed IP address {entry['fixed_ip']} is already in use on instance.")
            item["fixed_ip"] = entry["fixed_ip"]
        out.append(item)
    return out


def _check_security_groups(ctx, names, networks):
    from apps.network.models import Network, SecurityGroup
    if not names:
        return []
    resolved = []
    for name in names:
        qs = SecurityGroup.objects.filter(project_id=ctx.project_id)
        group = qs.filter(name=name).first()
        if group is None:
            try:
                group = qs.filter(pk=uuid_module.UUID(name)).first()
            except ValueError:
                group = None
        if group is None:
            raise exc.BadRequest(f"Security group {name} not found for project {ctx.project_id}.")
        resolved.append(str(group.id))
    net_ids = [n["network_id"] for n in networks if not n.get("port_id")]
    if net_ids and Network.objects.filter(pk__in=net_ids, port_security_enabled=False).exists():
        raise exc.BadRequest("Network requires port_security_enabled and subnet associated in order to "
                             "apply security groups.")
    return resolved


def _check_user_data(user_data):
    if user_data is None:
        return None
    if len(user_data) > conf()["max_user_data"]:
        raise exc.BadRequest(f"User data too large. User data must be no larger than {conf()['max_user_data']} "
                             f"bytes once base64 encoded. Your data is {len(user_data)} bytes")
    try:
        base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise exc.BadRequest("User data needs to be valid base 64.") from None
    return user_data


def _availability_zone(ctx, zone, admin):
    if not zone:
        return "", ""
    name, _, host = zone.partition(":")
    if host and not admin:
        raise exc.Forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
    if name and name != conf()["default_availability_zone"]:
        from .models import ComputeNode
        if not ComputeNode.objects.filter(availability_zone=name).exists():
            raise exc.BadRequest(f"The requested availability zone is not available")
    return name, host


def server_create(*, ctx, data, version, admin=False):
    """Validate, count quota and write the rows in one transaction; the build runs on commit."""
    flavor_ref = str(data["flavorRef"]).rstrip("/").rsplit("/", 1)[-1]
    try:
        flavor = access_flavor(ctx, flavor_ref)
    except exc.NotFound:
        raise exc.BadRequest(f"Flavor {flavor_ref} could not be found.") from None
    if flavor.disabled:
        raise exc.BadRequest(f"Flavor {flavor_ref} could not be found.")
    image_ref = data.get("imageRef") or ""
    for bdm in data.get("block_device_mapping_v2") or []:
        if bdm.get("source_type") == "image" and bdm.get("destination_type", "local") == "local" \
                and str(bdm.get("boot_index", "0")) == "0":
            image_ref = bdm.get("uuid") or image_ref
        else:
            raise exc.BadRequest("Block device mappings other than an image to a local disk need block storage, "
                                 "which is not available.")
    if not image_ref:
        raise exc.BadRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block "
                             "device mapping combination is not valid.")
    image = _image_for(ctx, image_ref)
    if image.min_ram and flavor.memory_mb < image.min_ram:
        raise exc.BadRequest("Flavor's memory is too small for requested image.")
    if image.min_disk and flavor.root_gb and flavor.root_gb < image.min_disk:
        raise exc.BadRequest("Flavor's disk is too small for requested image.")
    if flavor.root_gb and image.virtual_size and image.virtual_size > flavor.root_gb * 1024 ** 3:
        raise exc.BadRequest("Flavor's disk is too small for requested image.")
    networks = _resolve_networks(ctx, data.get("networks"), version)
    groups = [g["name"] for g in data.get("security_groups") or []]
    _check_security_groups(ctx, groups, networks)
    user_data = _check_user_data(data.get("user_data"))
    key_name, key_data = data.get("key_name"), None
    if key_name:
        keypair = KeyPair.objects.filter(user_id=ctx.user_id, name=key_name).first()
        if keypair is None:
            raise exc.BadRequest("Invalid key_name provided.")
        key_data = keypair.public_key
    zone, forced_host = _availability_zone(ctx, data.get("availability_zone"), admin)
    min_count, max_count = int(data.get("min_count", 1)), int(data.get("max_count", data.get("min_count", 1)))
    if min_count > max_count:
        raise exc.BadRequest("min_count must be <= max_count")
    port_ids = [n["port_id"] for n in networks if n.get("port_id")]
    if port_ids and max_count > 1:
        raise exc.BadRequest("Unable to launch multiple instances with a single configured port ID. Please launch "
                             "your instance one by one with different ports.")
    reservation_id = "r-" + uuid_module.uuid4().hex[:8]
    count = max_count
    with transaction.atomic():
        try:
            quotas.quota_consume(project_id=ctx.project_id, deltas={
                "instances": count, "cores": count * flavor.vcpus, "ram": count * flavor.memory_mb},
                limits_default=quota_defaults())
        except exc.OverQuota as e:
            if min_count == max_count:
                raise exc.Forbidden(f"Quota exceeded for instances: {e.message}") from None
            count = min_count
            try:
                quotas.quota_consume(project_id=ctx.project_id, deltas={
                    "instances": count, "cores": count * flavor.vcpus, "ram": count * flavor.memory_mb},
                    limits_default=quota_defaults())
            except exc.OverQuota as e2:
                raise exc.Forbidden(f"Quota exceeded for instances: {e2.message}") from None
        servers = []
        base_hostname = data.get("hostname") or _sanitize_hostname(data["name"])
        for index in range(count):
            name = data["name"] if count == 1 else f"{data['name']}-{index + 1}"
            hostname = base_hostname if count == 1 else f"{base_hostname}-{index + 1}"
            server = Server.objects.create(
                project_id=ctx.project_id, user_id=ctx.user_id, name=name, description=data.get("description"),
                hostname=hostname, image_ref=str(image.id), flavor=flavor, flavor_info=flavor.snapshot(),
                task_state="scheduling", requested_az=zone, availability_zone=zone,
                key_name=key_name, key_data=key_data, user_data=user_data, metadata=data.get("metadata") or {},
                config_drive=bool(data.get("config_drive")) or image.properties.get("img_config_drive") == "mandatory",
                requested_networks=[{**n, "forced_host": forced_host} if False else n for n in networks],
                security_groups=groups or ["default"], reservation_id=reservation_id, launch_index=index,
                access_ipv4=data.get("accessIPv4"), access_ipv6=data.get("accessIPv6"),
                excluded_hosts=[f"forced:{forced_host}"] if forced_host else [])
            _action(server, "create", ctx.user_id, ctx.project_id)
            servers.append(server)
        ids = [str(s.uuid) for s in servers]
        transaction.on_commit(lambda: [_send_conductor(BUILD_TASK, sid) for sid in ids], robust=True)
    return servers, reservation_id


# ============================================================================ build chain

def _request_for(server):
    from apps.image.models import Image
    flavor = server.flavor_info
    image = Image.objects.filter(pk=server.image_ref).first()
    forced = next((h.split(":", 1)[1] for h in server.excluded_hosts if h.startswith("forced:")), "")
    return scheduler.Request(vcpus=flavor["vcpus"], memory_mb=flavor["ram"],
                             disk_gb=flavor["disk"] + flavor["ephemeral"] + (flavor["swap"] + 1023) // 1024,
                             availability_zone=server.requested_az,
                             image_properties=dict(image.properties) if image else {},
                             excluded_hosts=tuple(h for h in server.excluded_hosts if not h.startswith("forced:")),
                             force_host=forced)


def server_build_step(*, server_id):
    """Conductor: schedule and claim, then bind the server's ports to the host and plug them."""
    with transaction.atomic():
        server = Server.objects.select_for_update().filter(pk=server_id, deleted=False).first()
        if server is None or server.vm_state != Server.BUILDING or server.task_state != "scheduling":
            return None
        node, reasons = scheduler.select_and_claim(server, _request_for(server))
        if node is None:
            _event(server, "create", "compute_schedule_instances", result="Error",
                   details={"reasons": reasons, "attempts": server.attempts})
            _build_failed(server, "No valid host was found. There are not enough hosts available.",
                          details=_reasons_text(reasons))
            return None
        _event(server, "create", "compute_schedule_instances", result="Success", host=node.hostname,
               details={"reasons": reasons, "attempts": server.attempts + 1})
        server.host, server.availability_zone = node.hostname, node.availability_zone
        server.attempts += 1
        server.task_state = "networking"
        server.save(update_fields=["host", "availability_zone", "attempts", "task_state", "updated_at"])
        _bind_and_plug(server)
        return node.hostname


def _reasons_text(reasons):
    return "; ".join(f"{name}: " + ", ".join(f"{h} ({why})" for h, why in sorted(hosts.items()))
                     for name, hosts in reasons.items())


def _admin_netctx(project_id):
    from apps.network.context import NetContext
    return NetContext.admin(project_id)


def _bind_and_plug(server):
    from apps.network import services as net_services
    from apps.network.models import Port, SecurityGroup

    netctx = _admin_netctx(server.project_id)
    owner = f"compute:{server.availability_zone or conf()['default_availability_zone']}"
    info = list(server.network_info or [])
    if not info:
        group_ids = None
        names = [n for n in server.security_groups if n]
        if names:
            groups = SecurityGroup.objects.filter(project_id=server.project_id)
            group_ids = [str(g.id) for g in groups if g.name in names or str(g.id) in names]
        for entry in server.requested_networks:
            if entry.get("port_id"):
                port = Port.objects.get(pk=entry["port_id"])
                port = net_services.port_update(ctx=netctx, port=port, data={
                    "device_id": str(server.uuid), "device_owner": owner, "binding:host_id": server.host})
                created = False
            else:
                data = {"network_id": entry["network_id"], "project_id": server.project_id,
                        "device_id": str(server.uuid), "device_owner": owner, "binding:host_id": server.host}
                if entry.get("fixed_ip"):
                    data["fixed_ips"] = [{"ip_address": entry["fixed_ip"]}]
                if group_ids is not None and (server.security_groups != ["default"]):
                    data["security_groups"] = group_ids
                port = net_services.port_create(ctx=netctx, data=data)
                created = True
            info.append(_nic_info(port, created))
    else:
        for nic in info:
            port = Port.objects.filter(pk=nic["port_id"]).first()
            if port is None:
                raise exc.Conflict(f"port {nic['port_id']} of server {server.uuid} is gone")
            net_services.port_update(ctx=netctx, port=port, data={"binding:host_id": server.host})
            nic.pop("vif", None)
    server.network_info = info
    server.save(update_fields=["network_info", "updated_at"])
    if not info:
        _spawn(server)
        return
    for nic in info:
        port = Port.objects.get(pk=nic["port_id"])
        net_services.port_plug(port=port, user_id=server.user_id)


def _nic_info(port, created):
    from apps.network.models import Port
    port = Port.objects.select_related("network").prefetch_related("fixed_ips").get(pk=port.pk)
    ips = []
    for alloc in port.fixed_ips.all():
        version = 6 if ":" in alloc.ip_address else 4
        ips.append({"address": alloc.ip_address, "version": version})
    return {"port_id": str(port.id), "network_id": str(port.network_id), "network_name": port.network.name,
            "mac": port.mac_address, "ips": ips, "created": created}


def _on_port_plugged(action, data):
    """Listener of network.port_plug: once every port of a building server is plugged, spawn."""
    from apps.network.models import Port
    device = Port.objects.filter(pk=action.resource_id).values_list("device_id", flat=True).first()
    if not device:
        return
    try:
        server_uuid = uuid_module.UUID(device)
    except ValueError:
        return
    server = Server.objects.select_for_update().filter(pk=server_uuid, deleted=False).first()
    if server is None or server.task_state not in ("networking", *REPLUG_TASKS) or server.host != action.host:
        return
    vif = (data or {}).get("vif") or {}
    for nic in server.network_info:
        if nic["port_id"] == action.resource_id:
            nic["vif"] = vif
    server.save(update_fields=["network_info", "updated_at"])
    if all(nic.get("vif") for nic in server.network_info):
        if server.task_state == "networking":
            _spawn(server)
        else:
            _power_step(server, REPLUG_TASKS[server.task_state], user_id=server.user_id, project_id=server.project_id)


def _on_port_plug_failed(action, error):
    from apps.network.models import Port
    device = Port.objects.filter(pk=action.resource_id).values_list("device_id", flat=True).first()
    try:
        server_uuid = uuid_module.UUID(device or "")
    except ValueError:
        return
    server = Server.objects.select_for_update().filter(pk=server_uuid, deleted=False).first()
    if server is None or server.host != action.host:
        return
    if server.task_state in REPLUG_TASKS:
        server.task_state = None
        server.fault = _fault(f"plugging port {action.resource_id} failed: {error}"[:255])
        server.save()
        return
    if server.task_state != "networking":
        return
    _build_failed_on_host(server, f"plugging port {action.resource_id} failed: {error}")


def host_data_signature(host, path, expires):
    key = hmac.new(settings.SECRET_KEY.encode(), f"compute-host:{host}".encode(), hashlib.sha256).digest()
    return hmac.new(key, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()


def _image_url(server, image):
    """The host's own credential for the image data: a URL signed for this host, expiring."""
    base = settings.MONOSTACK["DEFAULT"]["public_url"].rstrip("/")
    path = f"/compute/host-data/images/{image.id}"
    expires = int(time.time()) + settings.MONOSTACK["conductor"]["action_timeout"] * 3
    sig = host_data_signature(server.host, path, expires)
    return f"{base}{path}?host={server.host}&expires={expires}&signature={sig}"


def instance_spec(server):
    from apps.image.models import Image
    image = Image.objects.get(pk=server.image_ref)
    flavor = server.flavor_info
    vifs = []
    for nic in server.network_info:
        vif = nic.get("vif") or {}
        vifs.append({"port_id": nic["port_id"], "devname": vif.get("devname") or f"tap{nic['port_id'][:11]}",
                     "mac": nic["mac"], "bridge": vif.get("bridge") or "", "mtu": vif.get("mtu") or 1500,
                     "vif_type": vif.get("vif_type") or "bridge"})
    return {"uuid": str(server.uuid), "name": server.domain_name, "vcpus": flavor["vcpus"], "memory_mb": flavor["ram"],
            "root_gb": flavor["disk"], "ephemeral_gb": flavor["ephemeral"], "swap_mb": flavor["swap"],
            "image": {"id": str(image.id), "url": _image_url(server, image),
                      "service_path": f"/image/v2/images/{image.id}/file", "disk_format": image.disk_format,
                      "size": image.size, "checksum": image.checksum, "hash_algo": image.os_hash_algo,
                      "hash_value": image.os_hash_value},
            "vifs": vifs, "config_drive": md.config_drive_files(server) if server.config_drive else None,
            "hostname": server.hostname, "extra": {"fake_fail": server.metadata.get("fake_fail")}
            if server.metadata.get("fake_fail") else {}}


def _spawn(server):
    server.task_state = "spawning"
    server.save(update_fields=["task_state", "updated_at"])
    action_start(kind=SPAWN_KIND, resource_type="server", resource_id=str(server.uuid), host=server.host,
                 payload={"instance": instance_spec(server)}, user_id=server.user_id, project_id=server.project_id)


def _spawned(action, data):
    server = Server.objects.select_for_update().filter(pk=action.resource_id, deleted=False).first()
    if server is None or server.task_state != "spawning" or server.host != action.host:
        return
    server.vm_state, server.task_state, server.power_state = Server.ACTIVE, None, int(data.get("power_state") or 1)
    server.launched_at, server.console, server.fault, server.progress = timezone.now(), data.get("console") or {}, None, 100
    server.save()
    _event(server, "create", "compute_spawn", result="Success", host=action.host)
    InstanceAction.objects.filter(server_uuid=server.uuid, action="create").update(finish_time=timezone.now())


def _spawn_failed(action, error):
    server = Server.objects.select_for_update().filter(pk=action.resource_id, deleted=False).first()
    if server is None or server.task_state != "spawning" or server.host != action.host:
        return
    _event(server, "create", "compute_spawn", result="Error", host=action.host, details={"error": error})
    # Whatever the spawn made there goes (a step lost with its agent may have left a disk or a
    # domain): the clean-up waits in the host's queue if the host is gone, and runs after any
    # re-sent spawn still queued there.
    action_start(kind=DESTROY_KIND, resource_type="server", resource_id=str(server.uuid), host=action.host,
                 payload={"uuid": str(server.uuid), "cleanup": True}, user_id=server.user_id,
                 project_id=server.project_id)
    _build_failed_on_host(server, error)


def _build_failed_on_host(server, error):
    """Release the host's claim and try another host, or give up with ERROR."""
    scheduler.release(server)
    server.excluded_hosts = list(server.excluded_hosts) + [server.host]
    tried = server.attempts
    if tried < conf()["max_attempts"]:
        log.warning("build of %s failed on %s (%s): rescheduling", server.uuid, server.host, error)
        server.task_state, server.host = "scheduling", ""
        server.save(update_fields=["excluded_hosts", "task_state", "host", "updated_at"])
        sid = str(server.uuid)
        transaction.on_commit(lambda: _send_conductor(BUILD_TASK, sid), robust=True)
        return
    server.save(update_fields=["excluded_hosts", "updated_at"])
    _build_failed(server, f"Build of instance {server.uuid} aborted: {error}"[:255],
                  details=f"failed on hosts {', '.join(h for h in server.excluded_hosts if ':' not in h)}")


def _build_failed(server, message, details=""):
    _unplug_ports(server)
    scheduler.release(server)
    server.vm_state, server.task_state, server.power_state = Server.ERROR, None, 0
    server.fault = _fault(message, 500, details)
    server.save()


def _unplug_ports(server):
    from apps.network import services as net_services
    from apps.network.models import Port
    for nic in server.network_info or []:
        port = Port.objects.filter(pk=nic["port_id"]).first()
        if port is not None and port.binding_host_id:
            net_services.port_unplug(port=port, user_id=server.user_id)


# ============================================================================ delete

def server_delete(*, ctx, server, force=False):
    if server.locked and not force:
        raise exc.Conflict(f"Instance {server.uuid} is locked")
    with transaction.atomic():
        server = Server.objects.select_for_update().get(pk=server.pk)
        if server.deleted or server.task_state == "deleting":
            return
        _action(server, "delete", ctx.user_id, ctx.project_id)
        previous = server.task_state
        server.task_state = "deleting"
        server.save(update_fields=["task_state", "updated_at"])
        has_guest = server.host and (server.vm_state != Server.BUILDING or previous == "spawning"
                                     or previous == "networking")
        if has_guest:
            action_start(kind=DESTROY_KIND, resource_type="server", resource_id=str(server.uuid), host=server.host,
                         payload={"uuid": str(server.uuid)}, user_id=ctx.user_id, project_id=ctx.project_id)
        else:
            _finish_delete(server)


def _destroyed(action, data):
    if action.payload.get("cleanup"):
        return
    server = Server.objects.select_for_update().filter(pk=action.resource_id, deleted=False).first()
    if server is not None and server.task_state == "deleting":
        _finish_delete(server)


def _destroy_failed(action, error):
    if action.payload.get("cleanup"):
        log.warning("cleaning up server %s on %s after a failed build failed: %s", action.resource_id, action.host,
                    error)
        return
    server = Server.objects.select_for_update().filter(pk=action.resource_id, deleted=False).first()
    if server is None or server.task_state != "deleting":
        return
    host = Host.objects.filter(hostname=action.host).first()
    if host is None or host.state == Host.DOWN:
        # As nova's local delete: the host is gone; power-state sync removes the guest if it comes back.
        log.warning("host %s is down: deleting server %s locally (%s)", action.host, server.uuid, error)
        _finish_delete(server)
        return
    server.vm_state, server.task_state = Server.ERROR, None
    server.fault = _fault(f"Deleting the instance failed: {error}"[:255])
    server.save()


def _finish_delete(server):
    from apps.network import services as net_services
    from apps.network.models import Port

    netctx = _admin_netctx(server.project_id)
    ports = {str(p.id): p for p in Port.objects.filter(device_id=str(server.uuid))}
    created = {nic["port_id"]: nic.get("created", True) for nic in server.network_info or []}
    for port_id, port in ports.items():
        if created.get(port_id, True):
            net_services.port_delete(ctx=netctx, port=port, internal=True)
        else:
            net_services.port_update(ctx=netctx, port=port, data={"device_id": "", "device_owner": "",
                                                                  "binding:host_id": ""})
    scheduler.release(server)
    flavor = server.flavor_info
    quotas.quota_release(project_id=server.project_id, deltas={"instances": 1, "cores": flavor["vcpus"],
                                                               "ram": flavor["ram"]})
    server.vm_state, server.task_state, server.deleted = Server.DELETED, None, True
    server.terminated_at = timezone.now()
    server.save()


# ============================================================================ power actions

POWER_TRANSITIONS = {
    # action: (allowed vm_states, task_state while running)
    "reboot_soft": ((Server.ACTIVE,), "rebooting"),
    "reboot_hard": ((Server.ACTIVE, Server.STOPPED, Server.ERROR), "rebooting_hard"),
    "stop": ((Server.ACTIVE, Server.ERROR), "powering-off"),
    "start": ((Server.STOPPED,), "powering-on"),
}
NOVA_ACTION_NAMES = {"reboot_soft": "reboot", "reboot_hard": "reboot", "stop": "stop", "start": "start"}


def server_power_action(*, ctx, server, op):
    allowed, task_state = POWER_TRANSITIONS[op]
    name = NOVA_ACTION_NAMES[op]
    if server.locked:
        raise exc.Conflict(f"Instance {server.uuid} is locked")
    with transaction.atomic():
        server = Server.objects.select_for_update().get(pk=server.pk)
        if server.task_state is not None and not (op == "reboot_hard" and server.task_state == "rebooting"):
            raise exc.Conflict(f"Cannot '{name}' instance {server.uuid} while it is in task_state "
                               f"{server.task_state}")
        if server.vm_state not in allowed or not server.host:
            raise exc.Conflict(f"Cannot '{name}' instance {server.uuid} while it is in vm_state {server.vm_state}")
        server.task_state = task_state
        _action(server, name, ctx.user_id, ctx.project_id)
        if task_state in REPLUG_TASKS and server.network_info:
            # As nova's plug_vifs before a power on: the host's taps are made again (idempotent)
            # and the power step follows once every port reports plugged.
            from apps.network import services as net_services
            from apps.network.models import Port
            for nic in server.network_info:
                nic["vif"] = None
            server.save(update_fields=["task_state", "network_info", "updated_at"])
            for port in Port.objects.filter(pk__in=[nic["port_id"] for nic in server.network_info]):
                net_services.port_plug(port=port, user_id=ctx.user_id)
            return
        server.save(update_fields=["task_state", "updated_at"])
        _power_step(server, op, user_id=ctx.user_id, project_id=ctx.project_id)


REPLUG_TASKS = {"powering-on": "start", "rebooting_hard": "reboot_hard"}


def _power_step(server, op, *, user_id, project_id):
    action_start(kind=POWER_KIND, resource_type="server", resource_id=str(server.uuid), host=server.host,
                 payload={"op": op, "uuid": str(server.uuid), "shutdown_timeout": conf()["shutdown_timeout"]},
                 user_id=user_id, project_id=project_id)


def _power_done(action, data):
    server = Server.objects.select_for_update().filter(pk=action.resource_id, deleted=False).first()
    if server is None or server.task_state not in ("rebooting", "rebooting_hard", "powering-off", "powering-on"):
        return
    op = action.payload.get("op")
    server.power_state = int(data.get("power_state") or 0)
    server.vm_state = Server.STOPPED if op == "stop" else Server.ACTIVE
    server.task_state = None
    server.save()


def _power_failed(action, error):
    server = Server.objects.select_for_update().filter(pk=action.resource_id, deleted=False).first()
    if server is None or server.task_state not in ("rebooting", "rebooting_hard", "powering-off", "powering-on"):
        return
    server.task_state = None
    server.fault = _fault(f"{action.payload.get('op')} failed: {error}"[:255])
    server.save()


def server_console_output(*, server, length=None):
    from apps.core import rpc
    if server.vm_state not in (Server.ACTIVE, Server.STOPPED) or not server.host:
        raise exc.Conflict(f"Cannot 'get_console_output' instance {server.uuid} while it is in vm_state "
                           f"{server.vm_state}")
    answer = rpc.call_host(server.host, "compute.console_output", {"uuid": str(server.uuid)}, timeout=10)
    if not answer["ok"]:
        raise exc.Conflict(f"Console output of instance {server.uuid} is not available: {answer['error']}")
    text = answer["data"]["output"]
    if length is not None:
        lines = text.splitlines()
        text = "\n".join(lines[-length:]) if length else ""
    return text


def server_update(*, server, data):
    fields = []
    if "name" in data:
        server.name = data["name"]
        fields.append("name")
    if "description" in data:
        server.description = data["description"]
        fields.append("description")
    if "hostname" in data:
        server.hostname = data["hostname"]
        fields.append("hostname")
    for key, attr in (("accessIPv4", "access_ipv4"), ("accessIPv6", "access_ipv6")):
        if key in data:
            setattr(server, attr, data[key] or None)
            fields.append(attr)
    if fields:
        server.save(update_fields=fields + ["updated_at"])
    return server


# ============================================================================ periodic work

def power_sync():
    """Beat: ask every up host with servers what it runs (the answer reconciles in _synced)."""
    hosts = set(Server.objects.filter(deleted=False).exclude(host="").values_list("host", flat=True))
    up = set(Host.objects.filter(hostname__in=hosts, last_heartbeat__gte=Host.alive_since())
             .values_list("hostname", flat=True))
    for hostname in sorted(up):
        known = [str(u) for u in Server.objects.filter(host=hostname, deleted=False).values_list("uuid", flat=True)]
        with transaction.atomic():
            action_start(kind=SYNC_KIND, resource_type="compute_host", resource_id=f"sync-{hostname}", host=hostname,
                         payload={"known": known, "remove_unknown": conf()["remove_unknown_domains"]})
    return sorted(up)


def _synced(action, data):
    states = data.get("states") or {}
    for server in Server.objects.select_for_update().filter(host=action.host, deleted=False, task_state=None):
        state = states.get(str(server.uuid))
        power = 0 if state is None else int(state)
        if server.vm_state == Server.ACTIVE and power in (0, 4, 6):
            log.warning("server %s is not running on %s (power state %s): now SHUTOFF", server.uuid, action.host,
                        power)
            server.vm_state = Server.STOPPED
        if server.power_state != power or server.vm_state == Server.STOPPED:
            server.power_state = power
            server.save(update_fields=["vm_state", "power_state", "updated_at"])
    if data.get("unknown"):
        log.warning("host %s runs guests the database does not know: %s (removed: %s)", action.host,
                    data["unknown"], data.get("removed") or [])


def servers_reap():
    """Beat: servers stuck in a task with no open step fail (nothing stays in BUILD forever)."""
    cutoff = timezone.now() - timedelta(seconds=conf()["build_timeout"])
    stuck = Server.objects.filter(deleted=False, task_state__isnull=False, updated_at__lt=cutoff)
    failed = []
    for server in stuck:
        if Action.objects.filter(resource_type="server", resource_id=str(server.uuid), status__in=Action.OPEN).exists():
            continue
        with transaction.atomic():
            server = Server.objects.select_for_update().get(pk=server.pk)
            if server.task_state is None:
                continue
            if server.task_state == "deleting":
                _finish_delete(server)
            elif server.vm_state == Server.BUILDING:
                _build_failed(server, f"Build of instance {server.uuid} timed out in task {server.task_state}")
            else:
                server.task_state = None
                server.save(update_fields=["task_state", "updated_at"])
            failed.append(str(server.uuid))
    return failed
