from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views

app_name = "prodimg_api"

urlpatterns = [
    path("variants/", views.VariantsView.as_view(), name="variants"),
    path("jobs/<int:pk>/", views.JobDetailView.as_view(), name="job-detail"),
    path("generated/", views.GeneratedListView.as_view(), name="generated-list"),
    path("generated/<int:pk>/approve/", views.ReviewView.as_view(action="approve"), name="generated-approve"),
    path("generated/<int:pk>/reject/", views.ReviewView.as_view(action="reject"), name="generated-reject"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]
