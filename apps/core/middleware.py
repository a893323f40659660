from .context import global_request_id_var, new_request_id, request_id_var, valid_request_id

# Nova also answers with X-Compute-Request-Id (the id os-instance-actions shows).
COMPUTE_PREFIX = "/compute"


class RequestIdMiddleware:
    """Gives every request our own req-<uuid> and keeps a well-formed inbound one as global id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = new_request_id()
        inbound = request.META.get("HTTP_X_OPENSTACK_REQUEST_ID")
        gid = inbound if valid_request_id(inbound) else None
        request.request_id, request.global_request_id = rid, gid
        t1, t2 = request_id_var.set(rid), global_request_id_var.set(gid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(t1)
            global_request_id_var.reset(t2)
        response["X-Openstack-Request-Id"] = rid
        if request.path.startswith(COMPUTE_PREFIX):
            response["X-Compute-Request-Id"] = rid
        return response
