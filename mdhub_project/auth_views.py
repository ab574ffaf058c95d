"""Login for the dashboard (session) and for scripts (token).

Failed logins are counted by django-axes (a username+address pair is locked out after
``LOGIN_FAILURE_LIMIT`` failures) and these views are also throttled per address.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from webbase.api_errors import error


class LoginThrottle(AnonRateThrottle):
    scope = "login"


class CredentialsSerializer(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True, trim_whitespace=False)


class UserSerializer(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField()
    is_staff = serializers.BooleanField(help_text="An operator: may change accounts and command gateways.")


def _user_payload(user: Any) -> dict[str, Any]:
    return {"username": user.get_username(), "is_staff": bool(getattr(user, "is_staff", False))}


def _check_credentials(request: Request) -> Any:
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return authenticate(
        request._request,
        username=serializer.validated_data["username"],
        password=serializer.validated_data["password"],
    )


BAD_LOGIN = {"detail": "Wrong username or password, or too many failed attempts: wait and retry."}
BAD_LOGIN_RESPONSE = error(BAD_LOGIN["detail"])


def lockout_response(
    request: HttpRequest, response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer once a username+address pair is locked out (AXES_LOCKOUT_CALLABLE):
    a 429 with ``{"detail"}`` like every other API error, instead of axes' plain-text page."""
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    detail = (
        f"Too many failed logins for this username from this address: wait {minutes} minutes and "
        "retry, or ask an administrator to unlock it (manage.py axes_reset_username <name>)."
    )
    return JsonResponse({"detail": detail}, status=429)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SessionView(APIView):
    """``GET`` who is logged in (401 when nobody); ``POST`` log in; ``DELETE`` log out."""

    throttle_classes = [LoginThrottle]

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method in ("POST", "GET") else [IsAuthenticated()]

    def get_throttles(self) -> list[Any]:
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        summary="Who is logged in",
        responses={200: UserSerializer, 401: error("Not logged in.")},
    )
    def get(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            return Response({"detail": "Not logged in."}, status=status.HTTP_401_UNAUTHORIZED)
        return Response(_user_payload(request.user))

    @extend_schema(
        summary="Log in (session cookie)",
        request=CredentialsSerializer,
        responses={200: UserSerializer, 401: BAD_LOGIN_RESPONSE},
    )
    def post(self, request: Request) -> Response:
        user = _check_credentials(request)
        if user is None:
            return Response(BAD_LOGIN, status=status.HTTP_401_UNAUTHORIZED)
        login(request._request, user)
        return Response(_user_payload(user))

    @extend_schema(
        summary="Log out",
        request=None,
        responses={204: OpenApiResponse(description="Logged out; the session is gone.")},
    )
    def delete(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(APIView):
    """Trade a username and password for an API token (``Authorization: Token <key>``)."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        summary="Get an API token",
        request=CredentialsSerializer,
        responses={
            200: inline_serializer("TokenOut", {"token": serializers.CharField()}),
            401: BAD_LOGIN_RESPONSE,
        },
    )
    def post(self, request: Request) -> Response:
        user = _check_credentials(request)
        if user is None:
            return Response(BAD_LOGIN, status=status.HTTP_401_UNAUTHORIZED)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
