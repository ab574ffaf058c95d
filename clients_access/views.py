"""Stream clients over REST (docs/access.md): who may read the tick stream."""

from __future__ import annotations

from rest_framework import viewsets

from clients_access.models import StreamClient
from clients_access.serializers import StreamClientSerializer


class StreamClientViewSet(viewsets.ModelViewSet[StreamClient]):
    """Clients of the tick stream: CURVE public key, entitled topic prefixes, quotas. Created
    without a ``public_key``, the hub makes a key pair and returns ``secret_key`` once."""

    queryset = StreamClient.objects.all()
    serializer_class = StreamClientSerializer
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
