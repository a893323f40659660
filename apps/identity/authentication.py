"""The one authentication layer for every service: X-Auth-Token, validated through the cache."""
from rest_framework.authentication import BaseAuthentication

from apps.core.exceptions import Unauthorized

from . import services


class TokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        token = request.META.get("HTTP_X_AUTH_TOKEN")
        if not token:
            return None
        info = services.token_validate(token, unauthorized=True)
        return info, info

    def authenticate_header(self, request):
        return "Keystone"


def require_token(request):
    if request.user is None:
        raise Unauthorized("The request you have made requires authentication.")
    return request.user
