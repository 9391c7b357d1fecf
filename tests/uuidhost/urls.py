from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/prodimg/", include("prodimg_plugin.api.urls")),
    path("items/<path:pk>/", views.item, name="item"),
    path("", views.shelf, name="shelf"),
]
