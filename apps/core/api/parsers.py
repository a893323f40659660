import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from apps.core.exceptions import PayloadTooLarge


class JSONParser(BaseParser):
    """JSON bodies; the body must be an object (OpenStack APIs take nothing else).

    DRF reads the raw stream, which skips Django's DATA_UPLOAD_MAX_MEMORY_SIZE, so the
    size limit is enforced here: at most one byte past the limit is ever read."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
        try:
            data = json.loads(raw.decode("utf-8") if raw else "")
        except (ValueError, UnicodeDecodeError) as e:
            raise ParseError(f"Malformed JSON: {e}")
        if not isinstance(data, dict):
            raise ParseError("The request body must be a JSON object.")
        return data
