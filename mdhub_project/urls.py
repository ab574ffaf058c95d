from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mdhub_project.api_index import ApiIndexView
from mdhub_project.auth_views import SessionView, TokenView
from mdhub_project.dashboard_views import dashboard
from mdhub_project.health_views import HealthView
from monitoring.stream_clients_views import ConnectedStreamClientsView
from monitoring.urls import metrics_urlpatterns

api_patterns: list[URLPattern | URLResolver] = [
    path("health", HealthView.as_view(), name="health"),
    path("auth/session", SessionView.as_view(), name="auth-session"),
    path("auth/token", TokenView.as_view(), name="auth-token"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("accounts.urls")),
    # Before the stream clients' router, whose detail route would take "connected" for a name.
    re_path(
        r"^stream-clients/connected/?$", ConnectedStreamClientsView.as_view(), name="stream-clients-connected"
    ),
    path("", include("clients_access.urls")),
    path("", include("monitoring.urls")),
    path("", include("monitoring.tape_urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    # /api and /api/ alike; without this /api would fall through to the dashboard.
    re_path(r"^api/?$", ApiIndexView.as_view(), name="api-index"),
    path("api/", include(api_patterns)),
    *metrics_urlpatterns,
    # Everything else is the dashboard; the look-ahead keeps it off the server's own paths
    # even if this pattern is ever moved before them.
    re_path(r"^(?P<path>(?!api/|admin/|ws/|static/|metrics/?$).*)$", dashboard, name="dashboard"),
]
