"""Load the built-in session templates and holidays so a fresh database has a working
calendar. Later edits belong in the admin; this only fills empty tables, so re-running it
(after a rollback) never duplicates or overwrites an operator's rows."""

from django.db import migrations

from aggregation.sessions import DEFAULT_HOLIDAYS, DEFAULT_TEMPLATES


def load_defaults(apps, schema_editor):
    SessionTemplate = apps.get_model("monitoring", "SessionTemplate")
    Holiday = apps.get_model("monitoring", "Holiday")
    db = schema_editor.connection.alias
    if not SessionTemplate.objects.using(db).exists():
        SessionTemplate.objects.using(db).bulk_create(
            SessionTemplate(
                exchange=rule.exchange,
                product=rule.product,
                start=rule.window.start,
                end=rule.window.end,
                kind=rule.window.kind,
                is_night=rule.is_night,
                note="built-in default",
            )
            for rule in DEFAULT_TEMPLATES
        )
    if not Holiday.objects.using(db).exists():
        Holiday.objects.using(db).bulk_create(
            Holiday(date=day, name=name) for day, name in DEFAULT_HOLIDAYS.items()
        )


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_defaults, migrations.RunPython.noop),
    ]
