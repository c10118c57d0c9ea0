from django.contrib import admin

from crm.admin import PlatformAdmin
from reminders.models import Reminder, ReminderRule, ReminderStep, ReminderTemplate


@admin.register(Reminder)
class ReminderAdmin(PlatformAdmin):
    list_display = ["id", "tenant", "rule", "step", "customer", "due_date", "status", "attempts", "reason"]
    list_filter = ["status"]
    raw_id_fields = ["customer", "vehicle", "rule", "call_task"]


for model in (ReminderRule, ReminderStep, ReminderTemplate):
    admin.site.register(model, PlatformAdmin)
