"""Request bodies of the identity API (JSON Schema), after Keystone's own schemas."""

_id = {"type": "string", "minLength": 1, "maxLength": 64}
_name64 = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^\S(.*\S)?$"}
_name255 = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S(.*\S)?$"}
_description = {"type": ["string", "null"], "maxLength": 65535}
_bool = {"type": "boolean"}
_tag = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,/]*$"}
_tags = {"type": "array", "items": _tag, "maxItems": 80, "uniqueItems": True}
_password = {"type": ["string", "null"], "maxLength": 72}
_url = {"type": "string", "minLength": 1, "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"}

_ref = {"type": "object", "properties": {"id": _id, "name": {"type": "string", "minLength": 1, "maxLength": 255}},
        "additionalProperties": False}
_user_ref = {
    "type": "object",
    "properties": {"id": _id, "name": {"type": "string", "minLength": 1, "maxLength": 255},
                   "password": {"type": "string", "maxLength": 4096}, "domain": _ref},
    "required": ["password"], "additionalProperties": False,
}

AUTH = {
    "type": "object",
    "properties": {"auth": {
        "type": "object",
        "properties": {
            "identity": {
                "type": "object",
                "properties": {
                    "methods": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "password": {"type": "object", "properties": {"user": _user_ref}, "required": ["user"],
                                 "additionalProperties": False},
                    "token": {"type": "object", "properties": {"id": {"type": "string", "maxLength": 1024}},
                              "required": ["id"], "additionalProperties": False},
                },
                "required": ["methods"],
            },
            "scope": {
                "oneOf": [
                    {"type": "string", "enum": ["unscoped"]},
                    {"type": "object",
                     "properties": {
                         "project": {"type": "object",
                                     "properties": {"id": _id, "name": {"type": "string", "maxLength": 64},
                                                    "domain": _ref},
                                     "additionalProperties": False},
                         "domain": _ref,
                         "system": {"type": "object", "properties": {"all": _bool}, "additionalProperties": False},
                     },
                     "minProperties": 1, "maxProperties": 1, "additionalProperties": False},
                ],
            },
        },
        "required": ["identity"],
        "additionalProperties": False,
    }},
    "required": ["auth"],
    "additionalProperties": False,
}

PROJECT_CREATE = {
    "type": "object",
    "properties": {"project": {
        "type": "object",
        "properties": {"name": _name64, "description": _description, "domain_id": {"type": ["string", "null"],
                       "maxLength": 64}, "enabled": _bool, "is_domain": _bool,
                       "parent_id": {"type": ["string", "null"], "maxLength": 64}, "tags": _tags,
                       "options": {"type": "object"}},
        "required": ["name"],
        "additionalProperties": True,  # Keystone keeps extra attributes of projects
    }},
    "required": ["project"], "additionalProperties": False,
}
PROJECT_UPDATE = {
    "type": "object",
    "properties": {"project": {
        "type": "object",
        "properties": {"name": _name64, "description": _description, "enabled": _bool, "tags": _tags,
                       "options": {"type": "object"}},
        "not": {"anyOf": [{"required": ["domain_id"]}, {"required": ["is_domain"]}, {"required": ["id"]}]},
        "minProperties": 1, "additionalProperties": True,
    }},
    "required": ["project"], "additionalProperties": False,
}

USER_CREATE = {
    "type": "object",
    "properties": {"user": {
        "type": "object",
        "properties": {"name": _name255, "domain_id": {"type": ["string", "null"], "maxLength": 64},
                       "default_project_id": {"type": ["string", "null"], "maxLength": 64},
                       "enabled": _bool, "password": _password, "description": _description,
                       "email": {"type": ["string", "null"], "maxLength": 255}, "options": {"type": "object"}},
        "required": ["name"],
        "additionalProperties": True,
    }},
    "required": ["user"], "additionalProperties": False,
}
USER_UPDATE = {
    "type": "object",
    "properties": {"user": {
        "type": "object",
        "properties": {"name": _name255, "default_project_id": {"type": ["string", "null"], "maxLength": 64},
                       "enabled": _bool, "password": _password, "description": _description,
                       "email": {"type": ["string", "null"], "maxLength": 255}, "options": {"type": "object"}},
        "not": {"anyOf": [{"required": ["domain_id"]}, {"required": ["id"]}]},
        "minProperties": 1, "additionalProperties": True,
    }},
    "required": ["user"], "additionalProperties": False,
}

ROLE_CREATE = {
    "type": "object",
    "properties": {"role": {
        "type": "object",
        "properties": {"name": _name255, "domain_id": {"type": ["string", "null"], "maxLength": 64},
                       "description": _description, "options": {"type": "object"}},
        "required": ["name"], "additionalProperties": False,
    }},
    "required": ["role"], "additionalProperties": False,
}
ROLE_UPDATE = {
    "type": "object",
    "properties": {"role": {
        "type": "object",
        "properties": {"name": _name255, "description": _description, "options": {"type": "object"}},
        "minProperties": 1, "additionalProperties": False,
    }},
    "required": ["role"], "additionalProperties": False,
}

REGION_CREATE = {
    "type": "object",
    "properties": {"region": {
        "type": "object",
        "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 255},
                       "description": _description, "parent_region_id": {"type": ["string", "null"]}},
        "additionalProperties": False,
    }},
    "required": ["region"], "additionalProperties": False,
}

SERVICE_CREATE = {
    "type": "object",
    "properties": {"service": {
        "type": "object",
        "properties": {"type": {"type": "string", "minLength": 1, "maxLength": 255},
                       "name": {"type": "string", "maxLength": 255}, "description": _description,
                       "enabled": _bool},
        "required": ["type"], "additionalProperties": False,
    }},
    "required": ["service"], "additionalProperties": False,
}
SERVICE_UPDATE = {
    "type": "object",
    "properties": {"service": {
        "type": "object",
        "properties": SERVICE_CREATE["properties"]["service"]["properties"],
        "minProperties": 1, "additionalProperties": False,
    }},
    "required": ["service"], "additionalProperties": False,
}

ENDPOINT_CREATE = {
    "type": "object",
    "properties": {"endpoint": {
        "type": "object",
        "properties": {"service_id": _id, "interface": {"type": "string", "enum": ["public", "internal", "admin"]},
                       "url": _url, "region_id": {"type": ["string", "null"], "maxLength": 255},
                       "region": {"type": ["string", "null"], "maxLength": 255}, "enabled": _bool},
        "required": ["service_id", "interface", "url"], "additionalProperties": False,
    }},
    "required": ["endpoint"], "additionalProperties": False,
}
ENDPOINT_UPDATE = {
    "type": "object",
    "properties": {"endpoint": {
        "type": "object",
        "properties": ENDPOINT_CREATE["properties"]["endpoint"]["properties"],
        "minProperties": 1, "additionalProperties": False,
    }},
    "required": ["endpoint"], "additionalProperties": False,
}


def _body(key, properties, required=(), additional=False, **extra):
    inner = {"type": "object", "properties": properties, "additionalProperties": additional, **extra}
    if required:
        inner["required"] = list(required)
    return {"type": "object", "properties": {key: inner}, "required": [key], "additionalProperties": False}


_domain_props = {"name": _name64, "description": _description, "enabled": _bool, "tags": _tags,
                 "options": {"type": "object"}}
DOMAIN_CREATE = _body("domain", _domain_props, ["name"], additional=True)
DOMAIN_UPDATE = _body("domain", _domain_props, additional=True, minProperties=1,
                      **{"not": {"anyOf": [{"required": ["id"]}]}})

_group_props = {"name": _name64, "description": _description, "domain_id": {"type": ["string", "null"],
                                                                              "maxLength": 64}}
GROUP_CREATE = _body("group", _group_props, ["name"], additional=True)
GROUP_UPDATE = _body("group", {"name": _name64, "description": _description}, additional=True, minProperties=1,
                     **{"not": {"anyOf": [{"required": ["id"]}, {"required": ["domain_id"]}]}})

PASSWORD_CHANGE = _body("user", {"password": {"type": "string", "minLength": 1, "maxLength": 72},
                                 "original_password": {"type": "string", "minLength": 1, "maxLength": 4096}},
                        ["password", "original_password"])

TAGS_UPDATE = {"type": "object", "properties": {"tags": _tags}, "required": ["tags"], "additionalProperties": False}

REGION_UPDATE = _body("region", {"description": _description, "parent_region_id": {"type": ["string", "null"]}},
                      minProperties=1)

_access_rule = {"type": "object",
                "properties": {"id": _id, "path": {"type": "string", "minLength": 1, "maxLength": 225},
                               "method": {"type": "string", "enum": ["POST", "GET", "HEAD", "PATCH", "PUT",
                                                                     "DELETE"]},
                               "service": {"type": "string", "minLength": 1, "maxLength": 64}},
                "additionalProperties": False,
                "anyOf": [{"required": ["id"]}, {"required": ["path", "method", "service"]}]}
APPLICATION_CREDENTIAL_CREATE = _body("application_credential", {
    "name": _name255, "description": _description,
    "secret": {"type": ["string", "null"], "minLength": 1, "maxLength": 4096},
    "expires_at": {"type": ["string", "null"], "maxLength": 64},
    "roles": {"type": "array", "items": {"type": "object", "properties": {"id": _id, "name": _name255},
                                         "additionalProperties": False,
                                         "anyOf": [{"required": ["id"]}, {"required": ["name"]}]}},
    "unrestricted": _bool,
    "access_rules": {"type": "array", "items": _access_rule},
}, ["name"])

_credential_props = {"blob": {"type": "string", "minLength": 1, "maxLength": 65535},
                     "project_id": {"type": ["string", "null"], "maxLength": 64},
                     "type": {"type": "string", "minLength": 1, "maxLength": 255},
                     "user_id": _id}
CREDENTIAL_CREATE = _body("credential", _credential_props, ["blob", "type", "user_id"], additional=True)
CREDENTIAL_UPDATE = _body("credential", _credential_props, additional=True, minProperties=1,
                          **{"not": {"anyOf": [{"required": ["id"]}]}})

EC2_CREATE = {"type": "object", "properties": {"tenant_id": _id}, "required": ["tenant_id"],
              "additionalProperties": True}

_ec2_credentials = {"type": "object", "properties": {
    "access": {"type": "string", "minLength": 1, "maxLength": 255},
    "signature": {"type": ["string", "null"], "maxLength": 1024},
    "host": {"type": ["string", "null"], "maxLength": 1024}, "verb": {"type": ["string", "null"], "maxLength": 16},
    "path": {"type": ["string", "null"], "maxLength": 4096}, "params": {"type": ["object", "null"]},
    "headers": {"type": ["object", "null"]}, "body_hash": {"type": ["string", "null"], "maxLength": 128},
    "token": {"type": ["string", "null"]}}}
EC2_TOKENS = {"type": "object", "properties": {"credentials": _ec2_credentials, "credential": _ec2_credentials,
                                               "ec2Credentials": _ec2_credentials},
              "minProperties": 1}
