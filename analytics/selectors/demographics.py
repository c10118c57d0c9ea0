"""Who the customers are (gender, age band, region) and how satisfied they are, per topic."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db.models import Avg, Case, CharField, Count, F, Q, Sum, Value, When
from django.utils import timezone

from analytics.models import CustomerRFM
from crm.models import Tenant
from customers.models import Gender
from interactions.models import Interaction, Topic

AGE_BANDS = [(70, "70+"), (60, "60–69"), (50, "50–59"), (40, "40–49"), (30, "30–39"), (0, "<30")]


def _age_band(as_of: date):
    whens = [When(customer__birthday__isnull=True, then=Value("unknown"))]
    for years, label in AGE_BANDS:
        whens.append(When(customer__birthday__lte=as_of - relativedelta(years=years), then=Value(label)))
    return Case(*whens, default=Value("unknown"), output_field=CharField())


def demographics(*, tenant: Tenant, as_of: date | None = None) -> dict:
    """Customers, buyers in the RFM window and window revenue by gender, age band and prefecture."""
    as_of = as_of or timezone.localdate()
    base = CustomerRFM.objects.for_tenant(tenant)
    measures = {
        "customers": Count("id"),
        "buyers": Count("id", filter=Q(frequency__gt=0)),
        "revenue": Sum("monetary"),
    }
    genders = dict(Gender.choices)

    def rows(qs, label):
        return [
            {"group": r["group"], "label": label(r["group"]), "customers": r["customers"],
             "buyers": r["buyers"], "revenue": int(r["revenue"] or 0)}
            for r in qs.annotate(**measures).order_by("group")
        ]  # fmt: skip

    age_order = [label for _, label in reversed(AGE_BANDS)] + ["unknown"]
    by_age = rows(base.values(group=_age_band(as_of)), lambda g: g)
    return {
        "gender": rows(base.values(group=F("customer__gender")), lambda g: str(genders.get(g, g))),
        "age_band": sorted(by_age, key=lambda r: age_order.index(r["group"])),
        "region": rows(base.values(group=F("customer__prefecture")), lambda g: g or "—"),
    }


def satisfaction_by_topic(*, tenant: Tenant) -> list[dict]:
    """Average satisfaction (1–5) and number of rated interactions per topic."""
    labels = dict(Topic.choices)
    return [
        {"topic": r["topic"], "label": str(labels.get(r["topic"], r["topic"])), "rated": r["rated"],
         "average": float(r["average"]) if r["average"] is not None else None}
        for r in Interaction.objects.for_tenant(tenant)
        .filter(satisfaction__isnull=False)
        .values("topic")
        .annotate(rated=Count("id"), average=Avg("satisfaction"))
        .order_by("topic")
    ]  # fmt: skip
