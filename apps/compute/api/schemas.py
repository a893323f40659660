"""Request bodies, after Nova's schemas (api/openstack/compute/schemas)."""
from apps.core.api.validation import (boolean, description, ipv4, ipv6, metadata, name, object_schema,
                                      positive_integer, uuid)

flavor_ref = {"type": ["string", "integer"], "minLength": 1}
image_ref = {"type": "string", "minLength": 0}
network = object_schema({"uuid": {"type": "string", "format": "uuid"}, "port": {"type": ["string", "null"],
                                                                                "format": "uuid"},
                         "fixed_ip": {"type": "string", "format": "ip-address"},
                         "tag": {"type": "string", "maxLength": 60}})
bdm = object_schema({"uuid": {"type": "string", "minLength": 1, "maxLength": 255},
                     "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
                     "destination_type": {"type": "string", "enum": ["local", "volume"]},
                     "boot_index": {"type": ["integer", "string", "null"]},
                     "volume_size": {"type": ["integer", "string", "null"]},
                     "delete_on_termination": boolean, "device_name": {"type": "string"},
                     "guest_format": {"type": "string"}, "disk_bus": {"type": "string"},
                     "device_type": {"type": "string"}, "tag": {"type": "string"}})
hostname = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$"}

SERVER_CREATE = object_schema({"server": object_schema({
        "name": name, "imageRef": image_ref, "flavorRef": flavor_ref, "adminPass": {"type": "string"},
        "metadata": metadata, "networks": {"oneOf": [{"type": "array", "items": network},
                                                     {"type": "string", "enum": ["none", "auto"]}]},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        "accessIPv4": ipv4, "accessIPv6": ipv6, "personality": {"type": "array"},
        "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255},
        "block_device_mapping_v2": {"type": "array", "items": bdm}, "block_device_mapping": {"type": "array"},
        "config_drive": boolean, "key_name": {"type": "string", "minLength": 1, "maxLength": 255},
        "min_count": positive_integer, "max_count": positive_integer, "return_reservation_id": boolean,
        "security_groups": {"type": "array", "items": object_schema({"name": {"type": "string", "minLength": 1,
                                                                              "maxLength": 255}})},
        "user_data": {"type": "string"}, "description": description, "hostname": hostname,
    }, required=["name", "flavorRef"]), "os:scheduler_hints": {"type": "object"},
        "OS-SCH-HNT:scheduler_hints": {"type": "object"}}, required=["server"])

SERVER_UPDATE = object_schema({"server": object_schema({
    "name": name, "description": description, "accessIPv4": {"type": ["string", "null"]},
    "accessIPv6": {"type": ["string", "null"]}, "OS-DCF:diskConfig": {"type": "string"}, "hostname": hostname,
})}, required=["server"])

REBOOT = object_schema({"type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
                       required=["type"])
CONSOLE_OUTPUT = object_schema({"length": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"}})

FLAVOR_CREATE = object_schema({"flavor": object_schema({
    "name": {"type": "string", "minLength": 1, "maxLength": 255, "format": "name"},
    "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 255, "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
    "ram": positive_integer, "vcpus": positive_integer,
    "disk": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0},
    "OS-FLV-EXT-DATA:ephemeral": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0},
    "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0},
    "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$", "minimum": 0},
    "os-flavor-access:is_public": boolean, "description": description,
}, required=["name", "ram", "vcpus", "disk"])}, required=["flavor"])
FLAVOR_UPDATE = object_schema({"flavor": object_schema({"description": description}, required=["description"])},
                              required=["flavor"])
EXTRA_SPECS = object_schema({"extra_specs": {"type": "object", "patternProperties": {
    r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "number", "boolean"]}}, "additionalProperties": False}},
    required=["extra_specs"])
EXTRA_SPEC_ONE = {"type": "object", "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {
    "type": ["string", "number", "boolean"]}}, "additionalProperties": False, "minProperties": 1, "maxProperties": 1}
ADD_TENANT = object_schema({"addTenantAccess": object_schema({"tenant": {"type": "string", "minLength": 1,
                                                                          "maxLength": 255}}, required=["tenant"])},
                           required=["addTenantAccess"])
REMOVE_TENANT = object_schema({"removeTenantAccess": object_schema({"tenant": {"type": "string", "minLength": 1,
                                                                                "maxLength": 255}},
                                                                   required=["tenant"])},
                              required=["removeTenantAccess"])

keypair_name = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9 _.@-]*$"}
KEYPAIR_CREATE_21 = object_schema({"keypair": object_schema({"name": keypair_name, "public_key": {"type": "string"}},
                                                            required=["name"])}, required=["keypair"])
KEYPAIR_CREATE_22 = object_schema({"keypair": object_schema({
    "name": keypair_name, "type": {"type": "string", "enum": ["ssh", "x509"]}, "public_key": {"type": "string"}},
    required=["name"])}, required=["keypair"])

QUOTA_UPDATE = object_schema({"quota_set": object_schema({
    k: {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1}
    for k in ("instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups", "server_group_members",
              "injected_files", "injected_file_content_bytes", "injected_file_path_bytes", "floating_ips",
              "fixed_ips", "security_groups", "security_group_rules", "networks")} | {"force": boolean})},
    required=["quota_set"])
