"""Image API policy, after Glance's secure defaults (glance/policies/image.py). Who may see an
image at all (owner, public, community, members of a shared image) is decided in selectors;
these rules decide what a caller's roles allow on an image it can see. Any rule can be
overridden in the [policy] config section.

Targets carry ``project_id`` (the image's owner), ``member_id`` (the caller's project when it
is a member of the image, for member rules the member concerned), ``visibility`` and
``owner`` (for creation).
"""

ADMIN = "rule:image:context_is_admin"
SERVICE = "rule:image:service_api"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
VISIBLE_TO_READER = ("role:reader and (project_id:%(project_id)s or project_id:%(member_id)s or "
                     "'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s)")
VISIBLE_TO_MEMBER = ("role:member and (project_id:%(project_id)s or project_id:%(member_id)s or "
                     "'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s)")

RULES = {
    "image:context_is_admin": ("role:admin", "Cloud administrator: sees and changes every image."),
    "image:service_api": ("role:service or role:admin",
                          "Other services (compute hosts fetching image data) with their service user."),
    "image:add_image": (f"{ADMIN} or (role:member and project_id:%(owner)s)", "POST /v2/images"),
    "image:get_image": (f"{ADMIN} or {SERVICE} or ({VISIBLE_TO_READER})", "GET /v2/images/{image_id}"),
    "image:get_images": (f"{ADMIN} or role:reader", "GET /v2/images"),
    "image:modify_image": (f"{ADMIN} or ({PROJECT_MEMBER})", "PATCH /v2/images/{image_id}"),
    "image:publicize_image": (ADMIN, "Make an image public."),
    "image:communitize_image": (f"{ADMIN} or ({PROJECT_MEMBER})", "Make an image community."),
    "image:delete_image": (f"{ADMIN} or ({PROJECT_MEMBER})", "DELETE /v2/images/{image_id}"),
    "image:download_image": (f"{ADMIN} or {SERVICE} or ({VISIBLE_TO_MEMBER})", "GET /v2/images/{image_id}/file"),
    "image:upload_image": (f"{ADMIN} or ({PROJECT_MEMBER})",
                           "PUT /v2/images/{image_id}/file, /stage, POST /import"),
    "image:deactivate": (f"{ADMIN} or ({PROJECT_MEMBER})", "POST /v2/images/{image_id}/actions/deactivate"),
    "image:reactivate": (f"{ADMIN} or ({PROJECT_MEMBER})", "POST /v2/images/{image_id}/actions/reactivate"),
    "image:add_member": (f"{ADMIN} or ({PROJECT_MEMBER})", "POST /v2/images/{image_id}/members"),
    "image:delete_member": (f"{ADMIN} or ({PROJECT_MEMBER})",
                            "DELETE /v2/images/{image_id}/members/{member_id}"),
    "image:get_member": (f"{ADMIN} or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s))",
                         "GET /v2/images/{image_id}/members/{member_id}"),
    "image:get_members": (f"{ADMIN} or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s))",
                          "GET /v2/images/{image_id}/members"),
    "image:modify_member": (f"{ADMIN} or (role:member and project_id:%(member_id)s)",
                            "PUT /v2/images/{image_id}/members/{member_id}"),
}
