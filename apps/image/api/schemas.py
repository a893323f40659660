"""The JSON schemas of Glance v2 as we serve them at /v2/schemas/*, and the request checks
built from the same definitions: python-glanceclient validates against what we publish, so
the two cannot drift. Only what we accept and return is described (no locations, direct_url
or stores: this cloud has neither location APIs nor multiple stores)."""
import copy

from ..models import CONTAINER_FORMATS, DISK_FORMATS, Image, MEMBER_STATUSES, VISIBILITIES

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")

IMAGE_PROPERTIES = {
    "id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
    "name": {"type": ["null", "string"], "description": "Descriptive name for the image", "maxLength": 255},
    "status": {"type": "string", "readOnly": True, "description": "Status of the image",
               "enum": list(Image.STATUSES)},
    "visibility": {"type": "string", "description": "Scope of image accessibility", "enum": list(VISIBILITIES)},
    "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
    "os_hidden": {"type": "boolean",
                  "description": "If true, image will not appear in default image list response."},
    "checksum": {"type": ["null", "string"], "readOnly": True, "description": "md5 hash of image contents.",
                 "maxLength": 32},
    "os_hash_algo": {"type": ["null", "string"], "readOnly": True,
                     "description": "Algorithm to calculate the os_hash_value", "maxLength": 64},
    "os_hash_value": {"type": ["null", "string"], "readOnly": True,
                      "description": "Hexdigest of the image contents using the algorithm specified by "
                                     "the os_hash_algo", "maxLength": 128},
    "owner": {"type": ["null", "string"], "description": "Owner of the image", "maxLength": 255},
    "size": {"type": ["null", "integer"], "readOnly": True, "description": "Size of image file in bytes"},
    "virtual_size": {"type": ["null", "integer"], "readOnly": True, "description": "Virtual size of image in bytes"},
    "container_format": {"type": ["null", "string"], "description": "Format of the container",
                         "enum": [None, *CONTAINER_FORMATS]},
    "disk_format": {"type": ["null", "string"], "description": "Format of the disk",
                    "enum": [None, *DISK_FORMATS]},
    "created_at": {"type": "string", "readOnly": True, "description": "Date and time of image registration"},
    "updated_at": {"type": "string", "readOnly": True,
                   "description": "Date and time of the last image modification"},
    "tags": {"type": "array", "description": "List of strings related to the image",
             "items": {"type": "string", "maxLength": 255}},
    "min_ram": {"type": "integer", "minimum": 0, "maximum": 2147483647,
                "description": "Amount of ram (in MB) required to boot image."},
    "min_disk": {"type": "integer", "minimum": 0, "maximum": 2147483647,
                 "description": "Amount of disk space (in GB) required to boot image."},
    "self": {"type": "string", "readOnly": True, "description": "An image self url"},
    "file": {"type": "string", "readOnly": True, "description": "An image file url"},
    "schema": {"type": "string", "readOnly": True, "description": "An image schema url"},
}
EXTRA_PROPERTY = {"type": "string", "maxLength": 65535}
IMAGE_LINKS = [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
               {"rel": "describedby", "href": "{schema}"}]

MEMBER_PROPERTIES = {
    "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
    "image_id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
    "status": {"type": "string", "description": "The status of this image member",
               "enum": list(MEMBER_STATUSES)},
    "schema": {"readOnly": True, "type": "string"},
}


def image_schema():
    return {"name": "image", "properties": copy.deepcopy(IMAGE_PROPERTIES),
            "additionalProperties": dict(EXTRA_PROPERTY), "links": copy.deepcopy(IMAGE_LINKS)}


def member_schema():
    return {"name": "member", "properties": copy.deepcopy(MEMBER_PROPERTIES), "additionalProperties": False}


def collection_schema(name, item):
    return {"name": name,
            "properties": {name: {"type": "array", "items": item}, "first": {"type": "string"},
                           "next": {"type": "string"}, "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def images_schema():
    return collection_schema("images", image_schema())


def members_schema():
    return {"name": "members",
            "properties": {"members": {"type": "array", "items": member_schema()}, "schema": {"type": "string"}},
            "links": [{"rel": "describedby", "href": "{schema}"}]}


# Request checks (the published schema, without the documentation keys).
IMAGE_CREATE = {"type": "object", "properties": IMAGE_PROPERTIES, "additionalProperties": EXTRA_PROPERTY}
# Glance reads only "member" / "status" and ignores the rest (openstacksdk sends both).
MEMBER_CREATE = {"type": "object", "properties": {"member": {"type": "string", "minLength": 1, "maxLength": 255}},
                 "required": ["member"]}
MEMBER_UPDATE = {"type": "object", "properties": {"status": {"type": "string", "enum": list(MEMBER_STATUSES)}},
                 "required": ["status"]}
IMPORT = {"type": "object",
          "properties": {"method": {"type": "object",
                                    "properties": {"name": {"type": "string"}, "uri": {"type": "string",
                                                                                       "maxLength": 2048}},
                                    "required": ["name"]},
                         "stores": {"type": "array", "items": {"type": "string"}},
                         "all_stores": {"type": "boolean"},
                         "all_stores_must_succeed": {"type": "boolean"}},
          "required": ["method"]}
