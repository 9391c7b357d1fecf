"""Signal receivers of the plugin itself (kept apart from signals.py, which only declares)."""
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from prodimg_plugin import signals


@receiver(post_migrate)
def schedule_upkeep(sender, app_config=None, **kwargs):
    """Schedule the plugin's recurring work once django-q2's tables exist: the job reaper (every minute), the
    purge of anonymous shoppers' events past their retention period (daily) and the recommender's forgetting
    (hourly, by HALF_LIFE_DAYS)."""
    if getattr(app_config, "label", None) != "prodimg_plugin":
        return
    from django_q.models import Schedule

    Schedule.objects.get_or_create(
        name="prodimg-reap-jobs",
        defaults={"func": "prodimg_plugin.tasks.reap_jobs", "schedule_type": Schedule.MINUTES, "minutes": 1},
    )
    Schedule.objects.get_or_create(
        name="prodimg-purge-anonymous-events",
        defaults={"func": "prodimg_plugin.tasks.purge_anonymous_events", "schedule_type": Schedule.DAILY},
    )
    Schedule.objects.get_or_create(
        name="prodimg-decay-recommender",
        defaults={"func": "prodimg_plugin.tasks.decay_recommender", "schedule_type": Schedule.HOURLY},
    )


@receiver(signals.image_approved)
def enhanced_image_approved(sender, generated, user=None, **kwargs):
    """Hand an approved enhanced image to PRODIMG["ON_ENHANCED_APPROVED"] (e.g. to make it the main image)."""
    from prodimg_plugin.generation.enhance import enhanced_approved

    enhanced_approved(generated)
