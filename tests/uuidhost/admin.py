"""A plain admin: the plugin attaches its actions and panel to these registrations by itself."""
from django.contrib import admin

from .models import Item, Picture

admin.site.register(Item)
admin.site.register(Picture)
