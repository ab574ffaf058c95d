"""The clients that may read the hub's stream (docs/access.md): a CURVE public key, the topic
prefixes it is entitled to, and its quotas. The secret key is never stored: it is made once,
shown once, and then only its owner has it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from aggregation.access import TOPIC_ROOTS, ClientIdentity, Quotas
from aggregation.curve import INTERNAL_CLIENT, is_z85_key

DEFAULT_QUOTAS = Quotas()
RESERVED_NAME = f"{INTERNAL_CLIENT} is the hub's own readers' name (its services and bridge): choose another"


def validate_prefixes(value: Any) -> str | None:
    """The problem with ``value`` as a list of entitled prefixes, or None."""
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        return 'a non-empty list of topic prefixes, e.g. ["tick.rb", "tick.au"]'
    roots = tuple(root.decode() for root in TOPIC_ROOTS)
    bad = [p for p in value if not p.startswith(roots) or not p.isascii() or len(p) > 255]
    if bad:
        return f"{', '.join(bad)}: a prefix starts with {', '.join(roots)} (tick. is every contract)"
    return None


def validate_public_key(value: str) -> None:
    if not is_z85_key(value):
        raise ValidationError("a CURVE public key in Z85: 40 characters, as zmq.curve_keypair() makes it")


class StreamClient(models.Model):
    name = models.SlugField(
        primary_key=True,
        max_length=64,
        help_text="Short unique name, e.g. cta-desk; the connection's User-Id.",
    )
    public_key = models.CharField(
        max_length=40,
        unique=True,
        validators=[validate_public_key],
        help_text="The client's CURVE public key (Z85). Left empty at creation: a key pair is made "
        "and its secret shown once.",
    )
    is_enabled = models.BooleanField(default=True, help_text="Disabling cuts the client off within a second.")
    prefixes = models.JSONField(
        default=list,
        help_text='Topic prefixes it may read, e.g. ["tick.rb", "tick.au"]; ["tick."] is everything.',
    )
    max_subscriptions = models.PositiveIntegerField(default=DEFAULT_QUOTAS.max_subscriptions)
    max_upstream = models.PositiveIntegerField(
        default=DEFAULT_QUOTAS.max_upstream,
        help_text="Contracts its subscriptions may make the hub subscribe upstream on demand.",
    )
    requests_per_second = models.FloatField(
        default=DEFAULT_QUOTAS.requests_per_second,
        validators=[MinValueValidator(0.0)],
        help_text="Snapshot, gap-fill and resume requests per second.",
    )
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "stream_clients"
        ordering = ["name"]
        verbose_name = "stream client"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problem = validate_prefixes(self.prefixes)
        if problem:
            raise ValidationError({"prefixes": [problem]})
        if self.name == INTERNAL_CLIENT:
            raise ValidationError({"name": [RESERVED_NAME]})

    def identity(self) -> ClientIdentity:
        return ClientIdentity(
            name=self.name,
            public_key=self.public_key,
            enabled=self.is_enabled,
            prefixes=tuple(self.prefixes or ()),
            quotas=Quotas(self.max_subscriptions, self.max_upstream, self.requests_per_second),
        )


def load_identities() -> list[ClientIdentity]:
    """Every client, for the hub (``runhub`` at start, again on ``clients.changed``)."""
    return [client.identity() for client in StreamClient.objects.all()]
