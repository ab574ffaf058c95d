from __future__ import annotations

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from clients_access.views import StreamClientViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("stream-clients", StreamClientViewSet, basename="stream-client")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
