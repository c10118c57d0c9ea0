"""The real URLs plus one deliberately careless view, for tests/crm/test_rls.py: it forgets the tenant
(ORM `.unscoped()` and raw SQL), so only row-level security stands between it and other tenants' rows."""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path

from customers.models import Customer


def careless_view(request):
    orm = list(Customer.objects.unscoped().values_list("tenant_id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM customers_customer")
        raw = [row[0] for row in cursor.fetchall()]
    return JsonResponse({"orm": orm, "raw": raw})


urlpatterns = [
    path("rls-probe/", careless_view),
    path("", include("crm.urls")),
]
