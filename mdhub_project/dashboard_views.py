"""Serve the dashboard's static export (``frontend/out``) at ``/``.

The export holds no data: every number on it comes from the API and the WebSocket, which
require login. So its files are served to anyone, and the login page among them.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.views.decorators.http import require_safe


def _resolve(root: Path, path: str) -> Path | None:
    clean = path.strip("/")
    candidates = [clean, f"{clean}.html", f"{clean}/index.html"] if clean else ["index.html"]
    for candidate in candidates:
        target = (root / candidate).resolve()
        # Refuse anything that escapes the export directory (../../etc/passwd).
        if root.resolve() in target.parents and target.is_file():
            return target
    return None


@require_safe
def dashboard(request: HttpRequest, path: str = "") -> HttpResponseBase:
    root = Path(settings.DASHBOARD_DIR)
    if not (root / "index.html").is_file():
        # Not built (e.g. no Node.js here): the admin is the way in.
        return HttpResponseRedirect("/admin/")
    target = _resolve(root, path)
    if target is None:
        not_found = root / "404.html"
        if not_found.is_file():
            return FileResponse(not_found.open("rb"), status=404, content_type="text/html")
        raise Http404(path)
    return FileResponse(target.open("rb"))
