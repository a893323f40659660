"""Base for every OpenStack API view: the service name picks the error shape and policy target."""
from rest_framework.views import APIView


class OpenStackAPIView(APIView):
    service = None  # "identity", "compute", ...: set by each app's views
