from django.urls import path, re_path

from apps.core.api.versions import image_versions, version_view

from . import views as v

# Glance API 2.0 to 2.7: images, members, tags, deactivation, interoperable import (2.6),
# hidden images and multihash (2.7). Not 2.8+ (multiple stores, image tasks).
MAX_VERSION = "2.7"
IMAGE_ID = "<str:image_id>"

urlpatterns = [
    re_path(r"^/?$", version_view(image_versions, max_version=MAX_VERSION)),
    path("/versions", version_view(image_versions, max_version=MAX_VERSION, explicit=True)),
    path("/v2/images", v.ImagesView.as_view()),
    path(f"/v2/images/{IMAGE_ID}", v.ImageDetailView.as_view()),
    path(f"/v2/images/{IMAGE_ID}/file", v.ImageFileView.as_view()),
    path(f"/v2/images/{IMAGE_ID}/stage", v.ImageStageView.as_view()),
    path(f"/v2/images/{IMAGE_ID}/import", v.ImageImportView.as_view()),
    re_path(r"^/v2/images/(?P<image_id>[^/]+)/actions/(?P<action>deactivate|reactivate)$",
            v.ImageActionView.as_view()),
    path(f"/v2/images/{IMAGE_ID}/tags/<path:tag>", v.ImageTagView.as_view()),
    path(f"/v2/images/{IMAGE_ID}/members", v.MembersView.as_view()),
    path(f"/v2/images/{IMAGE_ID}/members/<str:member_id>", v.MemberView.as_view()),
    re_path(r"^/v2/schemas/(?P<name>image|images|member|members)$", v.SchemaView.as_view()),
    path("/v2/info/import", v.ImportInfoView.as_view()),
]
