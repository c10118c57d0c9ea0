from django.contrib import admin

from crm.admin import PlatformAdmin
from customers.models import Customer, Household, Purchase, PurchaseCategory, ServiceRecord, Vehicle

for model in (Customer, Household, Vehicle, Purchase, PurchaseCategory, ServiceRecord):
    admin.site.register(model, PlatformAdmin)
