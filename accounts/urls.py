from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path
from rest_framework.routers import SimpleRouter

from accounts.gateway_types import GatewayTypesView
from accounts.views import MarketDataAccountViewSet

router = SimpleRouter()
# Accept /api/accounts and /api/accounts/ alike: scripts and browsers differ.
router.trailing_slash = "/?"
router.register("accounts", MarketDataAccountViewSet, basename="account")

urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    re_path(r"^gateway-types/?$", GatewayTypesView.as_view(), name="gateway-types"),
]
