"""Account CRUD over REST (FR1, story 2.2)."""

from __future__ import annotations

from rest_framework import viewsets

from accounts.models import MarketDataAccount
from accounts.serializers import MarketDataAccountSerializer


class MarketDataAccountViewSet(viewsets.ModelViewSet[MarketDataAccount]):
    """Market-data accounts. Secrets (password, authCode) are write-only: responses say
    only whether each is set, in ``secrets_set``; an update that leaves one out keeps it."""

    queryset = MarketDataAccount.objects.all()
    serializer_class = MarketDataAccountSerializer
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
