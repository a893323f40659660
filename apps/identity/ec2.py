"""AWS request signatures as EC2/S3 clients compute them (versions 2 and 4), for /v3/ec2tokens.

``signature(secret, credentials)`` takes the ``credentials`` object a service posts to
Keystone (access, signature, host, verb, path, params, headers, body_hash) and returns the
signature the client must have sent. Pure functions: no Django, no database.
"""
import base64
import hashlib
import hmac
from urllib.parse import quote


class SignatureError(ValueError):
    pass


def canonical_query(params):
    pairs = []
    for key in sorted(params):
        value = params[key]
        value = value if isinstance(value, str) else str(value)
        pairs.append(quote(key, safe="") + "=" + quote(value, safe="-_~"))
    return "&".join(pairs)


def _v2(secret, params, verb, host, path):
    digest = hashlib.sha1 if params.get("SignatureMethod") == "HmacSHA1" else hashlib.sha256
    to_sign = f"{verb}\n{host}\n{path}\n" + canonical_query({k: v for k, v in params.items() if k != "Signature"})
    return base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), digest).digest()).decode()


def _is_v4(params, headers):
    auth = headers.get("Authorization") or ""
    return auth.startswith("AWS4-HMAC-SHA256") or params.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256"


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _v4(secret, params, verb, path, headers, body_hash):
    auth = headers.get("Authorization")

    def auth_param(name):
        if auth is not None:
            return auth.partition(f"{name}=")[2].split(",")[0].strip()
        return params.get(f"X-Amz-{name}") or ""

    signed = auth_param("SignedHeaders")
    lower = {k.lower().strip(): str(v).strip() for k, v in headers.items()}
    header_lines = [f"{h}:{lower[h]}" for h in signed.split(";") if h in lower]
    query = {k: v for k, v in params.items() if k != "X-Amz-Signature"}
    canonical = "\n".join((verb.upper(), path, canonical_query(query), "\n".join(header_lines) + "\n", signed,
                           body_hash or ""))
    credential = auth_param("Credential").split("/")
    if len(credential) < 5:
        raise SignatureError("malformed credential scope")
    date, region, service = credential[1], credential[2], credential[3]
    amz_date = headers.get("X-Amz-Date") or params.get("X-Amz-Date") or ""
    if not amz_date.startswith(date):
        raise SignatureError("request date mismatch")
    to_sign = "\n".join(("AWS4-HMAC-SHA256", amz_date, "/".join(credential[1:]),
                         hashlib.sha256(canonical.encode()).hexdigest()))
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def signature(secret, credentials):
    params = credentials.get("params") or {}
    headers = credentials.get("headers") or {}
    if not isinstance(params, dict) or not isinstance(headers, dict):
        raise SignatureError("params and headers must be objects")
    version = params.get("SignatureVersion")
    verb, host, path = credentials.get("verb") or "", credentials.get("host") or "", credentials.get("path") or ""
    if version == "2":
        return _v2(secret, params, verb, host, path)
    if _is_v4(params, headers):
        return _v4(secret, params, verb, path, headers, credentials.get("body_hash"))
    raise SignatureError(f"Unknown signature version: {version}" if version else "Unexpected signature format")


def signatures_equal(a, b):
    return hmac.compare_digest((a or "").encode(), (b or "").encode())
