from django.urls import path

from prodimg_plugin.api import edits, enhance, events, parts, views

app_name = "prodimg_api"

urlpatterns = [
    path("variants/", views.VariantsView.as_view(), name="variants"),
    path("parts/", parts.PartsView.as_view(), name="parts"),
    path("edits/", edits.EditsView.as_view(), name="edits"),
    path("enhance/", enhance.EnhanceView.as_view(), name="enhance"),
    path("jobs/<int:pk>/", views.JobDetailView.as_view(), name="job-detail"),
    path("generated/", views.GeneratedListView.as_view(), name="generated-list"),
    path("generated/<int:pk>/approve/", views.ReviewView.as_view(action="approve"), name="generated-approve"),
    path("generated/<int:pk>/reject/", views.ReviewView.as_view(action="reject"), name="generated-reject"),
    path("events/", events.EventsView.as_view(), name="events"),
    # a product id of any key type; `path` so that a string key may hold a slash
    path("personalized/<path:product_id>/", events.PersonalizedView.as_view(), name="personalized"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
]
