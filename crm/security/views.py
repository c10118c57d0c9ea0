"""Pages of the security room: the log-in page (with its two-factor step) and the shop's audit trail."""

import json

from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.csvsafe import csv_response
from crm.models import AuditAction
from crm.security.audit import audit_record
from crm.security.forms import AuditFilterForm
from crm.security.selectors import audit_events
from crm.security.twofactor import begin_second_step
from crm.tenancy.permissions import tenant_view
from crm.tenancy.views import SETTINGS_ROLE, settings_render


class LoginView(auth_views.LoginView):
    template_name = "crm/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        # A person with an authenticator app logs in only after the code step (crm/security/twofactor.py).
        second_step = begin_second_step(self.request, form.get_user(), self.get_success_url())
        return second_step or super().form_valid(form)


AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_LIMIT = 100_000


def _audit_rows(events):
    yield [_("Time"), _("Action"), _("User or key"), _("IP address"), _("Target"), _("Summary"), _("Changes")]
    labels = dict(AuditAction.choices)
    for e in events.iterator(chunk_size=2000):
        yield [
            timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            str(labels.get(e.action, e.action)),
            e.actor_label,
            e.ip or "",
            f"{e.target_type}#{e.target_id}" if e.target_id else e.target_type,
            e.summary,
            json.dumps(e.changes, ensure_ascii=False, sort_keys=True) if e.changes else "",
        ]


@tenant_view(read=SETTINGS_ROLE, write=SETTINGS_ROLE)
def settings_audit(request):
    """The shop's audit trail (owners only): filters, pages, and a CSV download that is itself audited."""
    tenant = request.tenant
    form = AuditFilterForm(request.GET or None, tenant=tenant)
    data = form.cleaned_data if form.is_valid() else {}
    events = audit_events(
        tenant=tenant,
        action=data.get("action") or "",
        user_id=data["user"].pk if data.get("user") else None,
        since=data.get("since"),
        until=data.get("until"),
    )
    params = request.GET.copy()
    params.pop("page", None)
    if params.pop("format", None) == ["csv"]:
        audit_record(
            tenant=tenant,
            action=AuditAction.AUDIT_EXPORTED,
            target_type="crm.auditevent",
            summary="audit.csv",
            changes={"filters": sorted(params.keys())},
            request=request,
        )
        return csv_response(_audit_rows(events[:AUDIT_EXPORT_LIMIT]), "audit.csv")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return settings_render(
        request,
        "crm/settings_audit.html",
        "audit",
        form=form,
        page=page,
        querystring=params.urlencode(),
    )
