"""Every dashboard page: renders for the tenant's members, 404 across tenants, 403 for a viewer's POST."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from crm.common.errors import ApplicationError
from crm.models import ApiKey, AuditAction, AuditEvent, Membership
from crm.tenancy.services import membership_remove
from customers.models import Consent, Customer, CustomerTag, Handover, ServiceRecord
from interactions.models import CallTask, CallTaskStatus, Deal, DealStage, Interaction
from tests.factories import (
    CallTaskFactory,
    CustomerFactory,
    DealFactory,
    MembershipFactory,
    ServiceRecordFactory,
    UserFactory,
    VehicleFactory,
)

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    "today",
    "customers:list",
    "customers:vehicles",
    "deals",
    "customers:create",
    "customers:import",
]
OWNER_PAGES = ["settings_profile", "settings_members", "settings_api_keys", "settings_handover"]


@pytest.fixture
def shop(tenant):
    """A customer of `tenant` with a vehicle due for 車検 this month and an open deal."""
    customer = CustomerFactory(tenant=tenant, family_name="佐藤", given_name="花子", given_name_kana="ハナコ")
    vehicle = VehicleFactory(
        customer=customer, inspection_expiry=timezone.localdate(), plate_number="品川 300 さ 12-34"
    )
    deal = DealFactory(customer=customer, title="プリウス乗り換え")
    return {"customer": customer, "vehicle": vehicle, "deal": deal}


def _object_urls(shop):
    c, v, d = shop["customer"].pk, shop["vehicle"].pk, shop["deal"].pk
    return [
        reverse("customers:detail", args=[c]),
        reverse("customers:edit", args=[c]),
        reverse("customers:vehicle", args=[v]),
    ], [
        (reverse("customers:consent", args=[c]), {"consent": "opted_out", "source": "phone"}),
        (reverse("customers:log_interaction", args=[c]), {"channel": "phone", "summary": "x"}),
        (reverse("customers:follow_up", args=[c]), {"due_date": "2030-01-01", "reason": "x"}),
        (
            reverse("customers:add_service", args=[c]),
            {"vehicle": v, "date": "2030-01-01", "kind": "oil_change"},
        ),
        (reverse("deal_move", args=[d]), {"stage": "won"}),
    ]


@pytest.mark.parametrize("name", LIST_PAGES)
def test_staff_sees_every_page(staff_client, shop, name):
    response = staff_client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", OWNER_PAGES)
def test_settings_are_for_owners_only(owner_client, staff_client, name):
    assert owner_client.get(reverse(name)).status_code == 200
    assert staff_client.get(reverse(name)).status_code == 403


def test_object_pages_of_another_tenant_are_404(other_client, shop):
    gets, posts = _object_urls(shop)
    for url in gets:
        assert other_client.get(url).status_code == 404, url
    for url, data in posts:
        assert other_client.post(url, data).status_code == 404, url
    deal = Deal.objects.for_tenant(shop["deal"].tenant).get()
    assert deal.stage == DealStage.LEAD
    assert (
        not Interaction.objects.unscoped().exists()
    )  # deliberate cross-tenant check: nothing written anywhere
    assert not CallTask.objects.unscoped().exists()


@pytest.mark.parametrize("name", ["today", "customers:list", "customers:vehicles", "deals"])
def test_lists_of_another_tenant_show_none_of_our_rows(other_client, shop, name):
    response = other_client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert "佐藤" not in body
    assert "プリウス乗り換え" not in body
    assert "12-34" not in body


def test_viewer_reads_but_cannot_post(viewer_client, shop):
    _gets, posts = _object_urls(shop)
    assert viewer_client.get(reverse("customers:detail", args=[shop["customer"].pk])).status_code == 200
    for url, data in posts:
        assert viewer_client.post(url, data).status_code == 403, url
    for name in ["customers:create", "customers:bulk", "customers:import"]:
        assert viewer_client.post(reverse(name), {}).status_code == 403, name
    assert viewer_client.get(reverse("customers:create")).status_code == 403
    assert Customer.objects.for_tenant(shop["customer"].tenant).get().consent == Consent.UNKNOWN
    assert not Interaction.objects.for_tenant(shop["customer"].tenant).exists()


@pytest.mark.parametrize("name", OWNER_PAGES)
def test_settings_post_needs_an_owner(manager_client, name):
    assert manager_client.post(reverse(name), {}).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- forms --------------------------------------------------------------------------------------------
def test_customer_form_shows_postal_code_and_kana_errors(staff_client, tenant):
    response = staff_client.post(
        reverse("customers:create"),
        {
            "family_name": "山田",
            "family_name_kana": "yamada",
            "postal_code": "12-345",
            "gender": "unknown",
            "acquisition_channel": "other",
            "acquisition_cost": 0,
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"family_name_kana", "postal_code"}
    body = response.content.decode()
    assert 'aria-invalid="true"' in body
    assert not Customer.objects.for_tenant(tenant).exists()


def test_customer_create_then_fix_postal_code(staff_client, tenant, staff):
    data = {
        "family_name": "山田",
        "given_name": "一郎",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "イチロウ",
        "postal_code": "1500",
        "gender": "unknown",
        "acquisition_channel": "walk_in",
        "acquisition_cost": 0,
        "assigned_staff": staff.pk,
        "tags": "VIP, 車検",
    }
    assert staff_client.post(reverse("customers:create"), data).status_code == 200
    data["postal_code"] = "150-0001"
    response = staff_client.post(reverse("customers:create"), data)
    customer = Customer.objects.for_tenant(tenant).get()
    assert response.url == reverse("customers:detail", args=[customer.pk])
    assert (customer.postal_code, customer.assigned_staff) == ("150-0001", staff)
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "車検"]


def test_customer_form_offers_only_this_tenants_households_and_staff(staff_client, other_owner, tenant):
    response = staff_client.get(reverse("customers:create"))
    staff_ids = {u.pk for u in response.context["form"].fields["assigned_staff"].queryset}
    assert other_owner.pk not in staff_ids
    response = staff_client.post(
        reverse("customers:create"),
        {
            "family_name": "山田",
            "gender": "unknown",
            "acquisition_channel": "other",
            "acquisition_cost": 0,
            "assigned_staff": other_owner.pk,
        },
    )
    assert "assigned_staff" in response.context["form"].errors


def test_customer_edit_saves_changes(staff_client, shop):
    c = shop["customer"]
    response = staff_client.post(
        reverse("customers:edit", args=[c.pk]),
        {
            "family_name": "佐藤",
            "given_name": "花子",
            "family_name_kana": "サトウ",
            "given_name_kana": "ハナコ",
            "postal_code": "100-0001",
            "gender": "female",
            "acquisition_channel": "website",
            "acquisition_cost": 0,
            "tags": "",
        },
    )
    assert response.status_code == 302
    c.refresh_from_db()
    assert (c.postal_code, c.family_name_kana, c.gender) == ("100-0001", "サトウ", "female")


# --- quick actions and bulk ---------------------------------------------------------------------------
def test_quick_actions_write_through_services(staff_client, staff, shop):
    c, v = shop["customer"], shop["vehicle"]
    staff_client.post(
        reverse("customers:log_interaction", args=[c.pk]), {"channel": "phone", "summary": "車検の案内"}
    )
    staff_client.post(
        reverse("customers:follow_up", args=[c.pk]), {"due_date": "2030-01-10", "reason": "見積"}
    )
    staff_client.post(
        reverse("customers:add_service", args=[c.pk]),
        {"vehicle": v.pk, "date": "2026-01-05", "kind": "shaken"},
    )
    staff_client.post(reverse("customers:consent", args=[c.pk]), {"consent": "opted_in", "source": "店頭"})
    t = c.tenant
    interaction = Interaction.objects.for_tenant(t).get()
    assert (interaction.summary, interaction.staff, interaction.channel) == ("車検の案内", staff, "phone")
    assert CallTask.objects.for_tenant(t).get().reason == "見積"
    record = ServiceRecord.objects.for_tenant(t).get()
    assert record.kind == "shaken"
    c.refresh_from_db()
    assert (c.consent, c.consent_source) == (Consent.OPTED_IN, "店頭")
    assert c.consent_at is not None
    page = staff_client.get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert "車検の案内" in page


def test_bulk_tag_assign_and_export(staff_client, staff, tenant, other_tenant):
    mine = CustomerFactory.create_batch(3, tenant=tenant)
    foreign = CustomerFactory(tenant=other_tenant)
    ids = [c.pk for c in mine[:2]] + [foreign.pk]
    staff_client.post(reverse("customers:bulk"), {"action": "tag", "ids": ids, "tag_name": "DM"})
    assert CustomerTag.objects.for_tenant(tenant).count() == 2
    assert not CustomerTag.objects.for_tenant(other_tenant).exists()
    staff_client.post(reverse("customers:bulk"), {"action": "assign", "ids": ids, "staff": staff.pk})
    assert Customer.objects.for_tenant(tenant).filter(assigned_staff=staff).count() == 2
    assert Customer.objects.for_tenant(other_tenant).get().assigned_staff is None
    mine[0].family_name = "=cmd"
    mine[0].save()
    response = staff_client.post(reverse("customers:bulk"), {"action": "export", "ids": ids})
    body = b"".join(response.streaming_content).decode()
    lines = body.lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 3  # header + the two own customers
    assert "'=cmd" in body


def test_customer_list_filters(staff_client, tenant, staff):
    a = CustomerFactory(
        tenant=tenant,
        family_name="青木",
        consent=Consent.OPTED_OUT,
        birthday=timezone.localdate().replace(month=3, day=3),
    )
    b = CustomerFactory(tenant=tenant, family_name="馬場", assigned_staff=staff)
    VehicleFactory(customer=b, inspection_expiry=timezone.localdate() + timedelta(days=10))
    VehicleFactory(customer=a, inspection_expiry=timezone.localdate() + timedelta(days=200))

    def names(**params):
        response = staff_client.get(reverse("customers:list"), params)
        return [c.family_name for c in response.context["page"]]

    assert names(consent="opted_out") == ["青木"]
    assert names(staff=staff.pk) == ["馬場"]
    assert names(birthday_month=3) == ["青木"]
    to = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert names(inspection_from=timezone.localdate().isoformat(), inspection_to=to) == ["馬場"]
    assert names(sort="inspection") == ["馬場", "青木"]
    assert names(q="馬場") == ["馬場"]


# --- deals --------------------------------------------------------------------------------------------
def test_deal_move_and_lost_needs_a_reason(staff_client, shop):
    deal = shop["deal"]
    url = reverse("deal_move", args=[deal.pk])
    staff_client.post(url, {"stage": "proposal"})
    deal.refresh_from_db()
    assert deal.stage == DealStage.PROPOSAL
    response = staff_client.post(url, {"stage": "lost", "lost_reason": ""}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    deal.refresh_from_db()
    assert deal.stage == DealStage.PROPOSAL
    staff_client.post(url, {"stage": "lost", "lost_reason": "他社で購入"})
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (DealStage.LOST, "他社で購入")
    assert deal.closed_at is not None


# --- settings -----------------------------------------------------------------------------------------
def test_owner_updates_profile_with_window_check(owner_client, tenant):
    data = {
        "name": "Shop A",
        "sender_name": "A自動車",
        "sender_email": "info@a.jp",
        "phone": "",
        "address": "",
        "send_window_start": "19:00",
        "send_window_end": "09:00",
        "churn_horizon_months": 24,
    }
    response = owner_client.post(reverse("settings_profile"), data)
    assert "send_window_end" in response.context["form"].errors
    data["send_window_start"] = "08:30"
    owner_client.post(reverse("settings_profile"), data)
    tenant.refresh_from_db()
    assert (tenant.sender_name, tenant.churn_horizon_months, str(tenant.send_window_start)) == (
        "A自動車",
        24,
        "08:30:00",
    )


def test_owner_adds_member_invites_new_user_and_changes_role(owner_client, tenant, staff, mailoutbox):
    owner_client.post(reverse("settings_members"), {"email": "new@shop.test", "role": "viewer"})
    m = Membership.objects.for_tenant(tenant).get(user__email="new@shop.test")
    assert m.role == "viewer"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new@shop.test"]
    staff_m = Membership.objects.for_tenant(tenant).get(user=staff)
    owner_client.post(reverse("settings_member_role", args=[staff_m.pk]), {"role": "manager"})
    staff_m.refresh_from_db()
    assert staff_m.role == "manager"


def test_member_role_of_another_tenant_is_404(other_client, staff, tenant):
    m = Membership.objects.for_tenant(tenant).get(user=staff)
    assert (
        other_client.post(reverse("settings_member_role", args=[m.pk]), {"role": "owner"}).status_code == 404
    )
    m.refresh_from_db()
    assert m.role == "staff"


def test_api_key_shown_once_then_revoked(owner_client, tenant, other_client):
    response = owner_client.post(reverse("settings_api_keys"), {"name": "レジ連携", "scope": "write"})
    raw = response.context["raw_key"]
    assert raw.startswith("kzn_") and raw in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert raw not in owner_client.get(reverse("settings_api_keys")).content.decode()
    key = ApiKey.objects.for_tenant(tenant).get()
    assert other_client.post(reverse("settings_api_key_revoke", args=[key.pk])).status_code == 404
    owner_client.post(reverse("settings_api_key_revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_handover_needs_confirmation(owner_client, owner, staff, manager, tenant):
    CustomerFactory.create_batch(3, tenant=tenant, assigned_staff=staff)
    data = {"from_user": staff.pk, "to_user": manager.pk}
    response = owner_client.post(reverse("settings_handover"), data)
    assert "confirm" in response.context["form"].errors
    assert Customer.objects.for_tenant(tenant).filter(assigned_staff=staff).count() == 3
    owner_client.post(reverse("settings_handover"), {**data, "confirm": "on"})
    assert Customer.objects.for_tenant(tenant).filter(assigned_staff=manager).count() == 3
    assert Handover.objects.for_tenant(tenant).get().customers_moved == 3


# --- removing a member -------------------------------------------------------------------------------
@pytest.fixture
def staff_work(tenant, staff, manager):
    """What `staff` holds: 2 customers, an open and a won deal, an open and a done call (and the
    manager's own customer, which must not move)."""
    mine = CustomerFactory.create_batch(2, tenant=tenant, assigned_staff=staff)
    CustomerFactory(tenant=tenant, assigned_staff=manager)
    return {
        "open_deal": DealFactory(customer=mine[0], owner=staff, stage=DealStage.PROPOSAL),
        "won_deal": DealFactory(customer=mine[1], owner=staff, stage=DealStage.WON),
        "open_call": CallTaskFactory(customer=mine[0], assigned_to=staff),
        "done_call": CallTaskFactory(
            customer=mine[1], assigned_to=staff, status=CallTaskStatus.DONE, done_at=timezone.now()
        ),
    }


def _removal_url(tenant, user):
    return reverse("settings_member_remove", args=[Membership.objects.for_tenant(tenant).get(user=user).pk])


def _owners_of(tenant, user):
    return {
        "customers": Customer.objects.for_tenant(tenant).filter(assigned_staff=user).count(),
        "deals": sorted(Deal.objects.for_tenant(tenant).filter(owner=user).values_list("pk", flat=True)),
        "calls": sorted(
            CallTask.objects.for_tenant(tenant).filter(assigned_to=user).values_list("pk", flat=True)
        ),
    }


def test_owner_removes_staff_and_hands_their_work_to_a_successor(
    owner_client, owner, staff, staff_client, manager, tenant, staff_work
):
    url = _removal_url(tenant, staff)
    m_pk = Membership.objects.for_tenant(tenant).get(user=staff).pk
    assert staff_client.get(reverse("customers:list")).status_code == 200
    page = owner_client.get(url)
    assert page.status_code == 200
    w = page.context["workload"]
    assert (w.customers, w.open_deals, w.open_calls) == (2, 1, 1)
    assert set(page.context["form"].fields["successor"].queryset) == {owner, manager}

    response = owner_client.post(url, {"successor": manager.pk, "confirm": "on"})

    assert response.status_code == 302 and response.url == reverse("settings_members")
    assert not Membership.objects.for_tenant(tenant).filter(user=staff).exists()
    assert _owners_of(tenant, staff) == {
        "customers": 0,
        "deals": [staff_work["won_deal"].pk],
        "calls": [staff_work["done_call"].pk],
    }
    assert _owners_of(tenant, manager) == {
        "customers": 3,
        "deals": [staff_work["open_deal"].pk],
        "calls": [staff_work["open_call"].pk],
    }
    handover = Handover.objects.for_tenant(tenant).get()
    assert (handover.from_user, handover.to_user, handover.customers_moved, handover.deals_moved) == (
        staff,
        manager,
        2,
        1,
    )
    event = AuditEvent.objects.for_tenant(tenant).get(action=AuditAction.MEMBER_REMOVED)
    assert (event.actor_user, event.target_type, event.target_id) == (owner, "crm.membership", m_pk)
    assert event.changes == {
        "user": staff.pk,
        "role": ["staff", None],
        "successor": manager.pk,
        "customers_moved": 2,
        "deals_moved": 1,
        "calls_moved": 1,
    }
    # The removed person's next request no longer reaches the shop.
    gone = staff_client.get(reverse("customers:list"))
    assert gone.status_code == 302 and gone.url == reverse("tenant_picker")


def test_member_without_work_is_removed_without_a_successor(owner_client, viewer, tenant):
    url = _removal_url(tenant, viewer)
    assert "successor" not in owner_client.get(url).context["form"].fields
    owner_client.post(url, {"confirm": "on"})
    assert not Membership.objects.for_tenant(tenant).filter(user=viewer).exists()
    assert not Handover.objects.for_tenant(tenant).exists()
    event = AuditEvent.objects.for_tenant(tenant).get(action=AuditAction.MEMBER_REMOVED)
    assert event.changes["successor"] is None and event.changes["calls_moved"] == 0


def test_removal_needs_a_successor_and_a_confirmation_when_there_is_work(
    owner_client, staff, manager, tenant, staff_work
):
    url = _removal_url(tenant, staff)
    before = _owners_of(tenant, staff)
    no_successor = owner_client.post(url, {"confirm": "on"})
    assert no_successor.status_code == 200 and "successor" in no_successor.context["form"].errors
    unconfirmed = owner_client.post(url, {"successor": manager.pk})
    assert "confirm" in unconfirmed.context["form"].errors
    themselves = owner_client.post(url, {"successor": staff.pk, "confirm": "on"})
    assert "successor" in themselves.context["form"].errors  # not offered: the leaving member
    assert Membership.objects.for_tenant(tenant).filter(user=staff).exists()
    assert _owners_of(tenant, staff) == before
    assert not Handover.objects.for_tenant(tenant).exists()
    assert not AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.MEMBER_REMOVED).exists()


def test_service_refuses_without_successor_and_changes_nothing(owner, staff, tenant, staff_work):
    m = Membership.objects.for_tenant(tenant).get(user=staff)
    before = _owners_of(tenant, staff)
    stranger = UserFactory(email="stranger@x.test")
    with translation.override("en"):
        with pytest.raises(ApplicationError, match="choose who takes them over"):
            membership_remove(tenant=tenant, membership=m, performed_by=owner)
        with pytest.raises(ApplicationError, match="member of this shop"):
            membership_remove(tenant=tenant, membership=m, successor=stranger, performed_by=owner)
    assert Membership.objects.for_tenant(tenant).filter(pk=m.pk).exists()
    assert _owners_of(tenant, staff) == before
    assert not Handover.objects.for_tenant(tenant).exists()


def test_the_last_owner_cannot_be_removed(owner, manager, tenant):
    m = Membership.objects.for_tenant(tenant).get(user=owner)
    with translation.override("en"), pytest.raises(ApplicationError, match="at least one owner"):
        membership_remove(tenant=tenant, membership=m, performed_by=manager)
    assert Membership.objects.for_tenant(tenant).filter(pk=m.pk, role="owner").exists()
    # With a second owner, one owner may remove the other.
    second = UserFactory(email="owner2@shop-a.test")
    MembershipFactory(tenant=tenant, user=second, role="owner")
    membership_remove(tenant=tenant, membership=m, performed_by=second)
    assert list(
        Membership.objects.for_tenant(tenant).filter(role="owner").values_list("user", flat=True)
    ) == [second.pk]


def test_owner_cannot_remove_themselves(owner_client, owner, staff, tenant):
    members = owner_client.get(reverse("settings_members")).content.decode()
    assert _removal_url(tenant, staff) in members and _removal_url(tenant, owner) not in members
    url = _removal_url(tenant, owner)
    page = owner_client.get(url)
    assert page.context["is_self"] and b'name="confirm"' not in page.content
    response = owner_client.post(url, {"confirm": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["You cannot remove yourself: ask another owner."]
    assert Membership.objects.for_tenant(tenant).filter(user=owner, role="owner").exists()


def test_a_manager_cannot_remove_members(manager_client, staff, tenant):
    url = _removal_url(tenant, staff)
    assert manager_client.get(url).status_code == 403
    assert manager_client.post(url, {"confirm": "on"}).status_code == 403
    assert Membership.objects.for_tenant(tenant).filter(user=staff).exists()


def test_member_removal_of_another_tenant_is_404(
    other_client, other_owner, staff, manager, tenant, staff_work
):
    url = _removal_url(tenant, staff)
    before = _owners_of(tenant, staff)
    assert other_client.get(url).status_code == 404
    assert other_client.post(url, {"successor": other_owner.pk, "confirm": "on"}).status_code == 404
    assert other_client.post(url, {"successor": manager.pk, "confirm": "on"}).status_code == 404
    assert Membership.objects.for_tenant(tenant).filter(user=staff).exists()
    assert _owners_of(tenant, staff) == before
    assert not AuditEvent.objects.unscoped().filter(action=AuditAction.MEMBER_REMOVED).exists()


def test_service_refuses_a_membership_of_another_tenant(other_owner, other_tenant, staff, tenant):
    m = Membership.objects.for_tenant(tenant).get(user=staff)
    with translation.override("en"), pytest.raises(ApplicationError, match="Member not found"):
        membership_remove(tenant=other_tenant, membership=m, performed_by=other_owner)
    assert Membership.objects.for_tenant(tenant).filter(pk=m.pk).exists()


# --- Today --------------------------------------------------------------------------------------------
def test_today_lists_due_inspections_checkups_and_my_calls(staff_client, staff, shop, tenant):
    today = timezone.localdate()
    record = ServiceRecordFactory(
        vehicle=shop["vehicle"], kind="check_12m", date=today.replace(year=today.year - 1)
    )
    ServiceRecord.objects.for_tenant(tenant).filter(pk=record.pk).update(next_due=today)
    CallTask.objects.create(
        tenant=tenant, customer=shop["customer"], assigned_to=staff, due_date=today, reason="車検見積の連絡"
    )
    response = staff_client.get(reverse("today"))
    assert [v.pk for v in response.context["inspections"]] == [shop["vehicle"].pk]
    assert [s.pk for s in response.context["checkups"]] == [record.pk]
    body = response.content.decode()
    assert "車検見積の連絡" in body and "プリウス乗り換え" in body


def test_birthdays_today_include_29_february_in_common_years():
    from datetime import date

    from customers.selectors import birthday_dates as _birthday_dates

    days = _birthday_dates(date(2027, 2, 28))
    assert date(1990, 2, 28) in days and date(2024, 2, 29) in days and date(1988, 2, 29) in days
    assert date(2027, 3, 1) not in days
    assert _birthday_dates(date(2028, 2, 28)).count(date(2024, 2, 29)) == 0  # leap year: the 29th comes


def test_today_shows_birthdays(staff_client, tenant):
    today = timezone.localdate()
    CustomerFactory(tenant=tenant, family_name="誕生", birthday=today.replace(year=1985))
    CustomerFactory(
        tenant=tenant, family_name="別日", birthday=(today + timedelta(days=1)).replace(year=1985)
    )
    response = staff_client.get(reverse("today"))
    assert [c.family_name for c in response.context["birthdays"]] == ["誕生"]


def test_password_reset_by_email(client, staff, mailoutbox):
    assert client.get(reverse("password_reset")).status_code == 200
    response = client.post(reverse("password_reset"), {"email": staff.email})
    assert response.url == reverse("password_reset_done")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [staff.email]
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line)
    confirm = client.get(link.split("testserver", 1)[1], follow=True)
    assert confirm.context["validlink"] is True
    client.post(
        confirm.redirect_chain[-1][0],
        {"new_password1": "a-New-pass-2026", "new_password2": "a-New-pass-2026"},
    )
    staff.refresh_from_db()
    assert staff.check_password("a-New-pass-2026")


def test_password_reset_for_unknown_address_sends_nothing(client, mailoutbox):
    client.post(reverse("password_reset"), {"email": "nobody@example.jp"})
    assert mailoutbox == []


def test_work_is_handed_only_to_members_who_can_do_it(owner_client, owner, staff, viewer, tenant):
    """A viewer only reads: neither the handover nor a member's removal may give them customers."""
    CustomerFactory.create_batch(2, tenant=tenant, assigned_staff=staff)
    response = owner_client.post(
        reverse("settings_handover"), {"from_user": staff.pk, "to_user": viewer.pk, "confirm": "on"}
    )
    assert "to_user" in response.context["form"].errors
    removal = Membership.objects.for_tenant(tenant).get(user=staff)
    url = reverse("settings_member_remove", args=[removal.pk])
    page = owner_client.get(url)
    assert viewer not in page.context["form"].fields["successor"].queryset
    owner_client.post(url, {"successor": viewer.pk, "confirm": "on"})
    assert Membership.objects.for_tenant(tenant).filter(user=staff).exists()
    assert Customer.objects.for_tenant(tenant).filter(assigned_staff=staff).count() == 2
    owner_client.post(url, {"successor": owner.pk, "confirm": "on"})
    assert not Membership.objects.for_tenant(tenant).filter(user=staff).exists()
    assert Customer.objects.for_tenant(tenant).filter(assigned_staff=owner).count() == 2


def test_a_staff_role_in_another_shop_does_not_make_a_viewer_a_successor(tenant, other_tenant, viewer):
    from crm.tenancy.roles import Role
    from crm.tenancy.selectors import tenant_workers
    from tests.factories import MembershipFactory

    MembershipFactory(tenant=other_tenant, user=viewer, role=Role.OWNER)
    assert viewer not in tenant_workers(tenant=tenant)
    assert viewer in tenant_workers(tenant=other_tenant)
