import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class JSONParser(BaseParser):
    """JSON bodies; the body must be an object (OpenStack APIs take nothing else)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            data = json.loads(raw.decode("utf-8") if raw else "")
        except (ValueError, UnicodeDecodeError) as e:
            raise ParseError(f"Malformed JSON: {e}")
        if not isinstance(data, dict):
            raise ParseError("The request body must be a JSON object.")
        return data
