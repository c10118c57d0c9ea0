"""Login, tenant picker and other platform-level pages."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from crm.middleware import activate_tenant
from crm.selectors import membership_get


class LoginView(auth_views.LoginView):
    template_name = "crm/login.html"
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "POST"])
def tenant_picker(request):
    """Choose the active tenant among the user's memberships (the choice lives in the session)."""
    if request.method == "POST":
        membership = membership_get(user=request.user, tenant_id=int(request.POST.get("tenant", 0) or 0))
        activate_tenant(request, membership)
        nxt = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
            nxt = reverse("today")
        return redirect(nxt or "today")
    return render(request, "crm/tenant_picker.html", {"memberships": request.memberships})
