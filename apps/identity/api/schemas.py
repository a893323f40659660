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
