from django.shortcuts import render

from crm.permissions import tenant_view


@tenant_view()
def index(request):
    return render(request, "reminders/index.html")
