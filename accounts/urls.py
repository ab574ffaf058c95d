from __future__ import annotations

from rest_framework.routers import SimpleRouter

from accounts.views import MarketDataAccountViewSet

router = SimpleRouter()
# Accept /api/accounts and /api/accounts/ alike: scripts and browsers differ.
router.trailing_slash = "/?"
router.register("accounts", MarketDataAccountViewSet, basename="account")

urlpatterns = router.urls
