"""Account CRUD over REST (FR1, story 2.2) and the gateway commands (FR2, DESIGN §6)."""

from __future__ import annotations

import logging

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import MarketDataAccount
from accounts.serializers import MarketDataAccountSerializer
from webbase.api_errors import error
from webbase.live_state import CommandNotSent, command_message, send_command
from webbase.serializers import CommandAcceptedSerializer

logger = logging.getLogger(__name__)


class HubUnreachable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The command could not be handed to the hub."
    default_code = "hub_unreachable"


# Its own answers; the other errors (400, ...) are added by mdhub_project.api_schema.
_COMMAND_RESPONSES = {
    202: CommandAcceptedSerializer,
    403: error("Not logged in, or not an operator (staff user)."),
    404: error("No account with this id."),
    503: error("Redis is down or the hub's command channel is full; nothing was sent."),
}


class MarketDataAccountViewSet(viewsets.ModelViewSet[MarketDataAccount]):
    """Market-data accounts. Secrets (password, authCode) are write-only: responses say
    only whether each is set, in ``secrets_set``; an update that leaves one out keeps it."""

    queryset = MarketDataAccount.objects.all()
    serializer_class = MarketDataAccountSerializer
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def _command(self, request: Request, command: str) -> Response:
        # get_object: 404 for an unknown id, and the operator-only permission check.
        account = self.get_object()
        try:
            send_command(command_message(command, account.id))
        except CommandNotSent as exc:
            raise HubUnreachable(f"The {command} command for {account.id} was not sent: {exc}.") from exc
        logger.info("%s asked the hub to %s %s", request.user, command, account.id)
        body = {"accepted": True, "command": command, "account": account.id}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses=_COMMAND_RESPONSES,
        summary="Start the account's gateway",
        description="Asks the running hub to start this account's gateway process. Answers 202 once "
        "the command is queued for the hub; the state change shows in /api/gateways and on /ws/.",
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._command(request, "start")

    @extend_schema(
        request=None,
        responses=_COMMAND_RESPONSES,
        summary="Stop the account's gateway",
        description="Asks the running hub to stop this account's gateway process (202: queued).",
    )
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        return self._command(request, "stop")

    @extend_schema(
        request=None,
        responses=_COMMAND_RESPONSES,
        summary="Hard-restart the account's gateway",
        description="Asks the running hub to kill and restart this account's gateway process (202: queued).",
    )
    @action(detail=True, methods=["post"])
    def restart(self, request: Request, pk: str | None = None) -> Response:
        return self._command(request, "restart")
