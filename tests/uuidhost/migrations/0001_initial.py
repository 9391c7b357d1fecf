# The keys follow PRODIMG_TEST_HOST_KEY (tests.uuidhost.keys), like the models.
import django.db.models.deletion
from django.db import migrations, models

from tests.uuidhost.keys import key_field


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", key_field()),
                ("title", models.CharField(max_length=100)),
                ("kind", models.CharField(default="tee", max_length=30)),
                ("colour", models.CharField(default="red", max_length=30)),
            ],
        ),
        migrations.CreateModel(
            name="Picture",
            fields=[
                ("id", key_field()),
                ("picture", models.ImageField(upload_to="pictures/")),
                ("order", models.PositiveIntegerField(default=0)),
                ("item", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="pictures",
                                           to="uuidhost.item")),
            ],
            options={"ordering": ["order"]},
        ),
    ]
