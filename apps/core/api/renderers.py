import json

from rest_framework.renderers import BaseRenderer


class JSONRenderer(BaseRenderer):
    """Compact JSON; no browsable API, no negotiation cost on the hot path."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, bytes):  # pre-rendered (cached) bodies
            return data
        return json.dumps(data, separators=(",", ":")).encode()
