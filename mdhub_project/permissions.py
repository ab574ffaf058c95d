from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class IsOperatorOrReadOnly(BasePermission):
    """Anyone logged in may look; only operators (staff) may change things or act."""

    message = "Only operators (staff users) may change accounts or control gateways."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(user.is_staff)
