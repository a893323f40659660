"""Request-body validation with JSON Schema, the way nova and keystone do it.

    create = object_schema({"server": object_schema({"name": name, "imageRef": uuid},
                                                    required=["name"])}, required=["server"])

    class ServerListApi(OpenStackAPIView):
        @schema(create)
        def post(self, request): ...         # request.data is valid here

The first (most relevant) error becomes a 400 naming the field, in nova's words:
"Invalid input for field/attribute name. Value: x...x. 'x...x' is too long".

Schemas are checked and compiled once (at decoration time for ``@schema``). Like nova
and keystone we use Draft 2020-12 unless a schema names its own ``$schema``; nova-style
schemas (``type`` lists, ``enum``, ``pattern``, ``minimum`` on strings) work unchanged.
"""
import functools
import ipaddress
import unicodedata
import uuid as uuid_module

import jsonschema
from django.utils.dateparse import parse_datetime
from jsonschema import validators as jsonschema_validators

from apps.core import exceptions as exc

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


class InvalidName(ValueError):
    pass


def _is_printable(char):
    # Nova's rule: no control/format/unassigned ("C*") chars and no line/paragraph
    # separators; ordinary spaces ("Zs") are printable.
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _is_space_or_unprintable(char):
    return not _is_printable(char) or unicodedata.category(char) == "Zs"


@FORMAT_CHECKER.checks("name", raises=InvalidName)
def _check_name(instance):
    if not isinstance(instance, str) or instance == "":
        return True  # type and minLength report those
    if (all(_is_printable(c) for c in instance)
            and not _is_space_or_unprintable(instance[0])
            and not _is_space_or_unprintable(instance[-1])):
        return True
    raise InvalidName("An invalid 'name' value was provided. The name must be: printable "
                      "characters. Can not start or end with whitespace.")


@FORMAT_CHECKER.checks("name_with_leading_trailing_spaces", raises=InvalidName)
def _check_name_with_spaces(instance):
    if not isinstance(instance, str) or instance == "":
        return True
    if all(_is_printable(c) for c in instance) and not all(
            _is_space_or_unprintable(c) for c in instance):
        return True
    raise InvalidName("An invalid 'name' value was provided. The name must be: printable "
                      "characters with at least one non space character")


@FORMAT_CHECKER.checks("printable")
def _check_printable(instance):
    return not isinstance(instance, str) or all(_is_printable(c) for c in instance)


@FORMAT_CHECKER.checks("uuid")
def _check_uuid(instance):
    return not isinstance(instance, str) or is_uuid_like(instance)


@FORMAT_CHECKER.checks("ipv4")
def _check_ipv4(instance):
    if not isinstance(instance, str):
        return True
    try:
        ipaddress.IPv4Address(instance)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("ipv6")
def _check_ipv6(instance):
    if not isinstance(instance, str):
        return True
    try:
        ipaddress.IPv6Address(instance)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("ip-address")
def _check_ip(instance):
    return _check_ipv4(instance) or _check_ipv6(instance)


@FORMAT_CHECKER.checks("cidr")
def _check_cidr(instance):
    # As nova: a prefix length is required, host bits may be set ("10.0.0.1/24").
    if not isinstance(instance, str):
        return True
    if "/" not in instance or any(c.isspace() for c in instance):
        return False
    try:
        ipaddress.ip_network(instance, strict=False)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("mac-address")
def _check_mac(instance):
    if not isinstance(instance, str):
        return True
    parts = instance.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts)


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _check_date_time(instance):
    if not isinstance(instance, str):
        return True
    return parse_datetime(instance) is not None


def is_uuid_like(value):
    """oslo's test: anything uuid.UUID() reads that normalises back to the same hex
    (with or without dashes, any case)."""
    try:
        return str(uuid_module.UUID(value)).replace("-", "") == value.replace("-", "").lower()
    except (TypeError, ValueError, AttributeError):
        return False


# --- common fragments (after nova's parameter_types) -------------------------------------

TRUE_STRINGS = ("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes")
FALSE_STRINGS = ("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no")

boolean = {"type": ["boolean", "string"], "enum": [True, *TRUE_STRINGS, False, *FALSE_STRINGS]}
strict_boolean = {"type": "boolean"}
name = {"type": "string", "format": "name", "minLength": 1, "maxLength": 255}
name_with_leading_trailing_spaces = {"type": "string", "format": "name_with_leading_trailing_spaces",
                                     "minLength": 1, "maxLength": 255}
name_or_none = {"oneOf": [{"type": "string", "minLength": 0, "maxLength": 255}, {"type": "null"}]}
description = {"type": ["string", "null"], "format": "printable", "minLength": 0, "maxLength": 255}
uuid = {"type": "string", "format": "uuid"}
uuid_or_none = {"type": ["string", "null"], "format": "uuid"}
non_negative_integer = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                        "minLength": 1}
positive_integer = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "minLength": 1}
ipv4 = {"type": "string", "format": "ipv4"}
ipv6 = {"type": "string", "format": "ipv6"}
ip_address = {"type": "string", "format": "ip-address"}
cidr = {"type": "string", "format": "cidr"}
mac_address = {"type": "string", "format": "mac-address"}
date_time = {"type": "string", "format": "date-time"}
metadata = {"type": "object",
            "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
            "additionalProperties": False}


def object_schema(properties, required=(), *, additional_properties=False, **extra):
    """An object schema; unknown members are refused unless said otherwise."""
    result = {"type": "object", "properties": properties,
              "additionalProperties": additional_properties}
    if required:
        result["required"] = list(required)
    result.update(extra)
    return result


def to_bool(value):
    """A value ``boolean`` accepted, as a Python bool."""
    if isinstance(value, bool):
        return value
    if value in TRUE_STRINGS:
        return True
    if value in FALSE_STRINGS:
        return False
    raise exc.BadRequest(f"Unrecognized value '{value}', acceptable values are: "
                         f"{', '.join(TRUE_STRINGS + FALSE_STRINGS)}")


# --- validation -------------------------------------------------------------------------

def _number_from_str(instance):
    # Nova compares minimum/maximum against numeric strings too ("10" >= 1).
    if isinstance(instance, bool):
        return None
    if isinstance(instance, (int, float)):
        return instance
    try:
        return int(instance)
    except (TypeError, ValueError):
        try:
            return float(instance)
        except (TypeError, ValueError):
            return None


def _string_bound(base_check):
    def check(validator, bound, instance, schema):
        number = _number_from_str(instance)
        if number is not None:
            yield from base_check(validator, bound, number, schema) or ()

    return check


_compiled = {}


def compile_schema(schema):
    """A validator for ``schema``, checked once and cached by identity (schemas are
    module-level constants, and the cache keeps each alive so ids are not reused)."""
    hit = _compiled.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    base = jsonschema_validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    base.check_schema(schema)
    cls = jsonschema_validators.extend(base, {
        kw: _string_bound(base.VALIDATORS[kw]) for kw in ("minimum", "maximum")})
    validator = cls(schema, format_checker=FORMAT_CHECKER)
    _compiled[id(schema)] = (schema, validator)
    return validator


def error_message(error, *, style="nova", query=False):
    """Nova's wording ("Invalid input for field/attribute <last path element>. Value: <v>.
    <reason>") or keystone's ("Invalid input for field '<a/b/c>': <reason>")."""
    if isinstance(error.cause, InvalidName):
        return str(error.cause)
    if not error.path:
        return error.message
    if style == "keystone":
        return f"Invalid input for field '{'/'.join(map(str, error.path))}': {error.message}"
    if query:
        return (f"Invalid input for query parameters {error.path[0]}. "
                f"Value: {error.instance}. {error.message}")
    return f"Invalid input for field/attribute {error.path[-1]}. Value: {error.instance}. {error.message}"


def validate(schema, body, *, style="nova"):
    """Raise BadRequest with the most relevant error if ``body`` does not fit ``schema``."""
    validator = compile_schema(schema)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    except TypeError as e:  # a non-string key against patternProperties, as nova notes
        raise exc.BadRequest(str(e))
    if error is not None:
        raise exc.BadRequest(error_message(error, style=style))
    return body


def schema(body_schema, *, style="nova"):
    """Decorate a DRF view method: ``request.data`` must fit ``body_schema`` (DRF reads an
    empty body as ``{}``, so a schema with ``required`` members refuses it)."""
    compile_schema(body_schema)  # a broken schema fails at import, not at the first request

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, request, *args, **kwargs):
            validate(body_schema, request.data, style=style)
            return method(self, request, *args, **kwargs)

        wrapper.body_schema = body_schema
        return wrapper

    return decorator


def query_schema(params_schema):
    """Decorate a DRF view method: the query string (each parameter a list of values, as
    nova validates it) must fit ``params_schema``."""
    compile_schema(params_schema)

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, request, *args, **kwargs):
            params = {k: request.query_params.getlist(k) for k in request.query_params}
            validator = compile_schema(params_schema)
            error = jsonschema.exceptions.best_match(validator.iter_errors(params))
            if error is not None:
                raise exc.BadRequest(error_message(error, query=True))
            return method(self, request, *args, **kwargs)

        return wrapper

    return decorator
