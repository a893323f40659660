"""Reads of the Networking service: what a caller may see, fetch-with-permission (404 for both
missing and forbidden), and what the data plane needs."""
import uuid

from django.db.models import Exists, OuterRef, Prefetch, Q

from apps.core.exceptions import NotFound

from .models import (FloatingIP, IPAllocation, Network, Port, PortForwarding, RBACPolicy, Router,
                     SecurityGroup, SecurityGroupRule, Subnet, SubnetPool)


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _rbac_q(ctx, action=None):
    rbac = RBACPolicy.objects.filter(object_id=OuterRef("pk"), target_tenant__in=[ctx.project_id or "", "*"])
    if action:
        rbac = rbac.filter(action=action)
    return Exists(rbac)


def network_queryset(ctx):
    qs = Network.objects.all()
    if ctx.is_admin:
        return qs
    return qs.filter(Q(project_id=ctx.project_id) | Q(shared=True) | Q(external=True) | _rbac_q(ctx))


def network_usable_q(ctx):
    """Networks ``ctx`` may put ports and subnets on: its own, shared ones (or RBAC-shared)."""
    if ctx.is_admin:
        return Q()
    return Q(project_id=ctx.project_id) | Q(shared=True) | _rbac_q(ctx, RBACPolicy.SHARED)


def subnet_queryset(ctx):
    qs = Subnet.objects.select_related("network")
    if ctx.is_admin:
        return qs
    visible = network_queryset(ctx).values("pk")
    return qs.filter(Q(project_id=ctx.project_id) | Q(network__in=visible))


def subnetpool_queryset(ctx):
    qs = SubnetPool.objects.all()
    return qs if ctx.is_admin else qs.filter(Q(project_id=ctx.project_id) | Q(shared=True) | Q(is_default=True))


def port_queryset(ctx):
    qs = Port.objects.select_related("network").prefetch_related(
        Prefetch("fixed_ips", queryset=IPAllocation.objects.order_by("id")),
        Prefetch("security_groups", queryset=SecurityGroup.objects.only("id")))
    if ctx.is_admin:
        return qs
    return qs.filter(Q(project_id=ctx.project_id) | Q(network__project_id=ctx.project_id))


def router_queryset(ctx):
    qs = Router.objects.select_related("gw_port", "gw_port__network").prefetch_related("gw_port__fixed_ips")
    return qs if ctx.is_admin else qs.filter(project_id=ctx.project_id)


def floatingip_queryset(ctx):
    qs = FloatingIP.objects.all()
    return qs if ctx.is_admin else qs.filter(project_id=ctx.project_id)


def security_group_queryset(ctx):
    qs = SecurityGroup.objects.prefetch_related("rules")
    return qs if ctx.is_admin else qs.filter(project_id=ctx.project_id)


def security_group_rule_queryset(ctx):
    qs = SecurityGroupRule.objects.all()
    if ctx.is_admin:
        return qs
    return qs.filter(Q(project_id=ctx.project_id) | Q(security_group__project_id=ctx.project_id))


def rbac_queryset(ctx):
    qs = RBACPolicy.objects.all()
    return qs if ctx.is_admin else qs.filter(project_id=ctx.project_id)


def _access(qs, pk, type_name, what):
    key = _uuid_or_none(pk)
    obj = qs.filter(pk=key).first() if key else None
    if obj is None:
        raise NotFound(f"{what} {pk} could not be found.", type_name=type_name)
    return obj


def access_network(ctx, network_id):
    return _access(network_queryset(ctx), network_id, "NetworkNotFound", "Network")


def access_subnet(ctx, subnet_id):
    return _access(subnet_queryset(ctx), subnet_id, "SubnetNotFound", "Subnet")


def access_subnetpool(ctx, pool_id):
    return _access(subnetpool_queryset(ctx), pool_id, "SubnetPoolNotFound", "Subnet pool")


def access_port(ctx, port_id):
    return _access(port_queryset(ctx), port_id, "PortNotFound", "Port")


def access_router(ctx, router_id):
    return _access(router_queryset(ctx), router_id, "RouterNotFound", "Router")


def access_floatingip(ctx, fip_id):
    return _access(floatingip_queryset(ctx), fip_id, "FloatingIPNotFound", "Floating IP")


def access_security_group(ctx, sg_id):
    return _access(security_group_queryset(ctx), sg_id, "SecurityGroupNotFound", "Security group")


def access_security_group_rule(ctx, rule_id):
    return _access(security_group_rule_queryset(ctx), rule_id, "SecurityGroupRuleNotFound",
                   "Security group rule")


def access_rbac_policy(ctx, policy_id):
    return _access(rbac_queryset(ctx), policy_id, "RbacPolicyNotFound", "RBAC policy")


def access_port_forwarding(fip, pf_id):
    return _access(PortForwarding.objects.filter(floatingip=fip), pf_id, "PortForwardingNotFound",
                   "Port forwarding")


def router_interface_ports(router):
    return (Port.objects.filter(device_id=str(router.id), device_owner="network:router_interface")
            .prefetch_related("fixed_ips__subnet").select_related("network"))
