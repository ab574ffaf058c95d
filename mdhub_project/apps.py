from django.apps import AppConfig


class MdhubProjectConfig(AppConfig):
    name = "mdhub_project"
    verbose_name = "mdhub"

    def ready(self) -> None:
        from mdhub_project import (
            checks,  # noqa: F401 - registers the system checks
            checks_access,  # noqa: F401 - who may read the stream (mdhub.E030, E031)
            checks_journal,  # noqa: F401 - the journal's and the endpoints' checks
            checks_nats,  # noqa: F401 - the NATS bridge's checks
            checks_recording,  # noqa: F401 - the recording's checks
        )
