"""Nova's default flavors m1.tiny .. m1.xlarge, ids "1".."5" (tempest's defaults point at 1 and 2).
Idempotent: a flavor already there (or renamed by an operator) is left alone."""
from django.db import migrations

DEFAULT_FLAVORS = (("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20), ("3", "m1.medium", 2, 4096, 40),
                   ("4", "m1.large", 4, 8192, 80), ("5", "m1.xlarge", 8, 16384, 160))


def create(apps, schema_editor):
    Flavor = apps.get_model("compute", "Flavor")
    for flavorid, name, vcpus, ram, disk in DEFAULT_FLAVORS:
        if not Flavor.objects.filter(flavorid=flavorid).exists() and not Flavor.objects.filter(name=name).exists():
            Flavor.objects.create(flavorid=flavorid, name=name, vcpus=vcpus, memory_mb=ram, root_gb=disk)


class Migration(migrations.Migration):
    dependencies = [("compute", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
