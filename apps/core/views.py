from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness for ./stack up and load balancers: the process answers and reaches the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
