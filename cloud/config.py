"""One INI file for the whole cloud, with every option overridable from the environment.

The file is ``/etc/monostack/monostack.conf`` unless ``MONOSTACK_CONFIG`` names another.
``MONOSTACK_<SECTION>_<OPTION>`` (upper case) overrides one option, e.g.
``MONOSTACK_DATABASE_NAME=other``. Every option is declared here, once, with its type,
default and help; ``etc/monostack.conf.sample`` is generated from this table
(``manage.py config_sample``) and a test keeps the two equal.
"""
import configparser
import os
import socket
from dataclasses import dataclass

DEFAULT_PATH = "/etc/monostack/monostack.conf"


@dataclass(frozen=True)
class Opt:
    name: str
    default: object
    help: str
    type: type = str


def _b(v):
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "yes", "on")


OPTIONS = {
    "DEFAULT": [
        Opt("hostname", "", "Name of this host; empty means the machine's hostname. Names the host.<hostname> queue."),
        Opt("debug", False, "Django debug mode. Never on in production.", bool),
        Opt("secret_key", "", "Django secret key (sessions, CSRF). ./stack up generates one."),
        Opt("public_url", "http://127.0.0.1:8080", "Base URL clients reach the API at; catalog endpoints are built from it."),
        Opt("region", "RegionOne", "Region of this cloud's catalog endpoints."),
        Opt("log_dir", "/var/log/monostack", "One log file per process is written here."),
        Opt("state_dir", "/var/lib/monostack", "Persistent host state (agent idempotency records, image cache, ...)."),
        Opt("run_dir", "/run/monostack", "Pid files of supervised processes."),
        Opt("clouds_yaml", "/etc/openstack/clouds.yaml", "Where ./stack up writes the clouds.yaml entry for the admin."),
        Opt("admin_openrc", "/etc/monostack/admin-openrc", "Where ./stack up writes the admin's openrc (root only)."),
        Opt("admin_password_file", "/etc/monostack/admin-password", "Root-only file with the bootstrap admin password."),
    ],
    "api": [
        Opt("bind", "0.0.0.0:8080", "Address the API server listens on."),
        Opt("workers", 3, "API worker processes.", int),
        Opt("threads", 4, "Threads per API worker.", int),
        Opt("max_body_size", 1048576, "Largest JSON request body accepted, in bytes (streamed uploads excepted).", int),
    ],
    "database": [
        Opt("name", "monostack", "PostgreSQL database."),
        Opt("user", "monostack", "PostgreSQL role."),
        Opt("password", "", "PostgreSQL password; empty uses trust/peer authentication."),
        Opt("host", "127.0.0.1", "PostgreSQL host or socket directory."),
        Opt("port", 5432, "PostgreSQL port.", int),
    ],
    "broker": [
        Opt("url", "redis://127.0.0.1:6379/0", "Celery broker: redis://... (all-in-one) or amqp://user:pass@host/vhost (RabbitMQ)."),
        Opt("result_backend", "redis://127.0.0.1:6379/1", "Celery result backend, used only by synchronous host queries."),
        Opt("pubsub_url", "redis://127.0.0.1:6379/2", "Redis used for pushes to every process (token revocations) and the shared cache."),
        Opt("task_expires", 300, "Seconds after which an undelivered host task is dropped instead of replayed.", int),
    ],
    "identity": [
        Opt("token_expiration", 3600, "Token lifetime in seconds.", int),
        Opt("key_repository", "/etc/monostack/fernet-keys", "Directory of Fernet keys (0 is staged, highest is primary)."),
        Opt("max_active_keys", 3, "Keys kept by rotation (staged + primary + secondaries).", int),
        Opt("password_hash_rounds", 12, "bcrypt cost factor, as Keystone's default.", int),
        Opt("cache_size", 20000, "Validated tokens kept per process.", int),
        Opt("allow_rescope_scoped_token", True, "Whether a scoped token may be exchanged for another scope.", bool),
    ],
    "security_compliance": [
        Opt("lockout_failure_attempts", 0, "Failed logins in a row after which a user is locked out for lockout_duration; 0 (Keystone's unset) disables lockout.", int),
        Opt("lockout_duration", 1800, "Seconds a locked-out user stays locked.", int),
        Opt("unique_last_password_count", 0, "A new password must differ from this many of the user's latest passwords; 0 disables the history.", int),
        Opt("minimum_password_age", 0, "Days a password must be used before its owner may change it again (administrators may reset it at any time).", int),
        Opt("password_expires_days", 0, "Days a new password stays valid; 0 (Keystone's unset) means passwords never expire.", int),
        Opt("password_regex", "", "Regular expression every new password must match; empty accepts any password."),
        Opt("password_regex_description", "", "Human words for password_regex, returned when a password does not match it."),
        Opt("change_password_upon_first_use", False, "Users created or reset by an administrator must change their password before anything else (unless their ignore_change_password_upon_first_use option is set).", bool),
    ],
    "agent": [
        Opt("heartbeat_interval", 10, "Seconds between host heartbeats.", int),
        Opt("dead_after", 60, "A host with no heartbeat for this long is reported down.", int),
        Opt("hypervisor_type", "QEMU", "Hypervisor type this host reports."),
        Opt("credential_file", "/etc/monostack/host-credential.json",
            "This host's own service credential (root only), with which it fetches controller data over "
            "HTTP (image downloads, snapshot uploads); `manage.py host_credential` writes it."),
    ],
    "conductor": [
        Opt("reaper_interval", 30, "Seconds between reaper runs.", int),
        Opt("action_timeout", 600, "Seconds a host step may take before the reaper fails or re-drives it.", int),
        Opt("max_redrives", 1, "How many times the reaper re-sends a lost host step before failing it.", int),
    ],
    "quota": [
        Opt("default_limit", -1, "Limit for a resource with no explicit default (-1 = unlimited).", int),
    ],
    "compute": [
        Opt("enabled", True, "Publish the compute service in the catalog.", bool),
        Opt("driver", "apps.compute.drivers.libvirt.driver.LibvirtDriver", "Hypervisor driver of host agents (dotted path); apps.compute.drivers.fake.FakeComputeDriver keeps guests in memory."),
        Opt("virt_type", "qemu", "libvirt domain type: qemu (TCG, works everywhere, also nested) or kvm (hardware acceleration; set it where /dev/kvm works)."),
        Opt("connection_uri", "qemu:///system", "libvirt connection URI of host agents."),
        Opt("instances_path", "", "Where guests' disks, config drives and console logs live; empty means <state_dir>/instances."),
        Opt("image_cache_dir", "", "Per-host cache of images guests boot from; empty means <instances_path>/_base."),
        Opt("console_host", "127.0.0.1", "Management address serial consoles (TCP chardevs) and VNC listen on."),
        Opt("serial_port_range", "10000:20000", "TCP ports serial consoles are bound to, as first:last."),
        Opt("shutdown_timeout", 10, "Seconds a guest gets to shut down (or reboot) cleanly before it is forced.", int),
        Opt("cpu_allocation_ratio", 16.0, "Virtual CPUs per physical CPU the scheduler hands out.", float),
        Opt("ram_allocation_ratio", 1.5, "Guest memory per host memory the scheduler hands out.", float),
        Opt("disk_allocation_ratio", 1.0, "Guest disk per host disk the scheduler hands out.", float),
        Opt("reserved_host_memory_mb", 512, "Host memory kept for the host itself.", int),
        Opt("weigher", "spread", "How the scheduler orders fitting hosts: spread (most free memory first) or stack.", str),
        Opt("max_attempts", 3, "Hosts a build is tried on before the server goes to ERROR (reschedules + 1).", int),
        Opt("default_availability_zone", "nova", "Availability zone of compute hosts."),
        Opt("build_timeout", 900, "Seconds a server may stay in BUILD (or another task) before the reaper fails it.", int),
        Opt("sync_power_state_interval", 60, "Seconds between power-state syncs with what hypervisors run.", int),
        Opt("remove_unknown_domains", False, "Power-state sync destroys guests the database does not know (else only reports them).", bool),
        Opt("max_user_data", 65535, "Largest base64 user_data accepted, in bytes.", int),
        Opt("default_instances", 10, "Servers a project may have, unless its quota says otherwise.", int),
        Opt("default_cores", 20, "vCPUs a project may use, unless its quota says otherwise.", int),
        Opt("default_ram", 51200, "MiB of RAM a project may use, unless its quota says otherwise.", int),
        Opt("default_key_pairs", 100, "Key pairs a user may have, unless the quota says otherwise.", int),
    ],
    "network": [
        Opt("enabled", True, "Publish the network service in the catalog.", bool),
        Opt("driver", "apps.network.drivers.linux.LinuxNetworkDriver", "Host network driver (dotted path); apps.network.drivers.fake.FakeNetworkDriver keeps state in memory."),
        Opt("network_host", "", "Host running DHCP and router namespaces; empty means the first host that is up."),
        Opt("tenant_network_type", "vxlan", "Type of networks projects create (vxlan or flat)."),
        Opt("vni_ranges", "1:16000", "VXLAN network identifiers given to tenant networks, as first:last[,first:last]."),
        Opt("local_ip", "", "This host's VTEP address for VXLAN; empty means the address of the default route's interface."),
        Opt("vxlan_port", 4789, "UDP port of VXLAN tunnels.", int),
        Opt("global_physnet_mtu", 1500, "MTU of the physical network; VXLAN networks get 50 bytes less.", int),
        Opt("physical_interface_mappings", "", "Flat networks: physnet:interface[,...], the interface is enslaved to the network's bridge."),
        Opt("bridge_mappings", "physnet1:br-ex", "Flat networks: physnet:bridge[,...], an existing (or created) bridge used as the network's bridge."),
        Opt("external_bridge_cidr", "172.24.4.1/24", "Host-side address of the first mapped bridge (br-ex), so floating IPs are reachable from the host; empty for none."),
        Opt("dnsmasq_path", "", "dnsmasq program serving DHCP in qdhcp namespaces; empty means the one on PATH."),
        Opt("dhcp_release_path", "", "dhcp_release program (dnsmasq-utils); empty means the one on PATH."),
        Opt("dhcp_lease_duration", 86400, "DHCP lease time in seconds.", int),
        Opt("dns_domain", "openstacklocal", "Domain dnsmasq gives to instances."),
        Opt("metadata_url", "", "Where the host metadata proxy forwards 169.254.169.254 requests; empty means public_url + /metadata."),
        Opt("metadata_secret", "", "Shared secret signing forwarded metadata requests (X-Instance-ID-Signature style)."),
        Opt("sync_interval", 60, "Seconds between syncs that repair host drift and remove leftovers.", int),
    ],
    "image": [
        Opt("enabled", True, "Publish the image service in the catalog.", bool),
        Opt("store_driver", "apps.image.stores.filesystem.FilesystemStore", "Image data store (dotted path); apps.image.stores.fake.FakeStore keeps data in memory."),
        Opt("store_dir", "", "Directory of the filesystem store; empty means <state_dir>/images."),
        Opt("staging_dir", "", "Where glance-direct stages data before import; empty means <state_dir>/images-staging."),
        Opt("image_tool_driver", "apps.image.drivers.qemu_img.QemuImgDriver", "Checks uploaded disk images after their headers pass inspection (dotted path)."),
        Opt("qemu_img_cpu_seconds", 30, "CPU seconds a qemu-img run may use before it is killed.", int),
        Opt("qemu_img_memory_mb", 1024, "Address space (MiB) a qemu-img run may use.", int),
        Opt("max_image_size", 1099511627776, "Largest image accepted, in bytes (Glance's image_size_cap).", int),
        Opt("default_image_count_total", -1, "Images a project may own, unless its quota says otherwise (-1 = unlimited).", int),
        Opt("default_image_bytes_total", -1, "Bytes of image data a project may store, unless its quota says otherwise (-1 = unlimited).", int),
        Opt("max_properties", 128, "Extra properties one image may carry.", int),
        Opt("max_tags", 128, "Tags one image may carry.", int),
        Opt("max_members", 128, "Members one image may be shared with.", int),
        Opt("enabled_import_methods", "glance-direct,web-download", "Interoperable import methods offered, comma-separated."),
        Opt("web_download_allow_private", False, "Let web-download fetch from loopback, link-local and private addresses (the API host can reach the database and the broker).", bool),
        Opt("web_download_allowed_ports", "80,443", "Ports web-download may connect to, comma-separated; empty allows any."),
        Opt("web_download_timeout", 60, "Seconds a web-download connection may stall.", int),
    ],
    "volume": [Opt("enabled", False, "Publish the block-storage service in the catalog.", bool)],
    "policy": [],  # free-form: "<rule name> = <check string>" overrides rules defined in code
}


class Config:
    """Typed, read-only view of the INI file plus environment overrides."""

    def __init__(self, path=None, environ=None):
        environ = os.environ if environ is None else environ
        self.path = path or environ.get("MONOSTACK_CONFIG", DEFAULT_PATH)
        # "=" only: policy rule names ("identity:get_user") contain colons.
        parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
        parser.optionxform = str
        parser.read(self.path)
        self._values = {}
        for section, opts in OPTIONS.items():
            values = {}
            for opt in opts:
                raw = opt.default
                if section == "DEFAULT":
                    raw = parser.defaults().get(opt.name, raw)
                elif parser.has_section(section) and opt.name in parser[section]:
                    raw = parser[section][opt.name]
                raw = environ.get(f"MONOSTACK_{section.upper()}_{opt.name.upper()}", raw)
                values[opt.name] = _b(raw) if opt.type is bool else opt.type(raw)
            self._values[section] = values
        self._values["DEFAULT"]["hostname"] = self._values["DEFAULT"]["hostname"] or socket.gethostname()
        policy = {}
        if parser.has_section("policy"):
            policy.update({k: v for k, v in parser["policy"].items() if k not in parser.defaults()})
        for key, value in environ.items():
            if key.startswith("MONOSTACK_POLICY_"):
                policy[key[len("MONOSTACK_POLICY_"):].lower().replace("__", ":")] = value
        self._values["policy"] = policy

    def __getitem__(self, section):
        return self._values[section]

    def as_dict(self):
        return {s: dict(v) for s, v in self._values.items()}

    @staticmethod
    def sample():
        """Apps reach this through settings.CONF (they never import cloud/)."""
        return sample()


def sample():
    """The commented sample file: every option with its default."""
    lines = ["# Monostack configuration. Every option is shown with its default, commented out.",
             "# Any option can be overridden by the environment: MONOSTACK_<SECTION>_<OPTION>.", ""]
    for section, opts in OPTIONS.items():
        lines.append(f"[{section}]")
        if section == "policy":
            lines += ["# Overrides of API policy rules, e.g.:", "#identity:list_users = role:admin", ""]
            continue
        for opt in opts:
            default = str(opt.default).lower() if opt.type is bool else opt.default
            lines.append(f"# {opt.help}")
            lines.append(f"#{opt.name} = {default}")
        lines.append("")
    return "\n".join(lines)
