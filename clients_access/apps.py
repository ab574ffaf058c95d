from django.apps import AppConfig


class ClientsAccessConfig(AppConfig):
    name = "clients_access"
    verbose_name = "Stream clients"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from clients_access.models import StreamClient
        from clients_access.signals import client_saved_or_deleted

        # dispatch_uid: ready() may run twice (tests, autoreload); connect once.
        post_save.connect(client_saved_or_deleted, sender=StreamClient, dispatch_uid="clients-changed-save")
        post_delete.connect(
            client_saved_or_deleted, sender=StreamClient, dispatch_uid="clients-changed-delete"
        )
