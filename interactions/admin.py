from django.contrib import admin

from crm.admin import PlatformAdmin
from interactions.models import CallTask, Deal, Interaction

for model in (Interaction, Deal, CallTask):
    admin.site.register(model, PlatformAdmin)
