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
    # The name is the key, looked up by its own field (not ``pk``) so that the schema's path
    # parameter is {name} with the route's pattern: drf-spectacular reads the pattern only for
    # a kwarg named as the parameter. The pattern is the SlugField's (validate_slug): a name the
    # model refuses cannot be in the path, and the fuzzer generates names the route matches.
    lookup_field = "name"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
