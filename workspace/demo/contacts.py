"""The shop's contacts with its customers: interactions (visits, calls, e-mails), deals, call tasks."""

from __future__ import annotations

from datetime import date, timedelta

from interactions.models import CallTask, Deal, Interaction
from workspace.demo.generator import DemoGenerator
from workspace.demo.vehicles import DemoCar

INTERACTION_SUMMARIES = {
    "inspection": ["車検のご案内をお電話。来月予約いただく。", "車検見積もりをご説明。代車希望あり。"],
    "service": ["オイル交換後の乗り心地を確認。問題なし。", "点検結果をご説明。ブレーキパッド残量少。"],
    "new_car": ["新型モデルの試乗にご来店。", "乗り換えのご相談。見積もり提示。"],
    "used_car": ["中古車在庫のお問い合わせ。", "下取り査定のご依頼。"],
    "parts": ["タイヤ交換のお見積もり。", "ドラレコ取付のご相談。"],
    "insurance": ["任意保険の更新をご案内。", "保険の補償内容を見直し。"],
    "other": ["近況伺いのお電話。", "イベントのご案内。"],
}

INTERACTION_COLUMNS = [
    "id",
    "tenant_id",
    "customer_id",
    "staff_id",
    "channel",
    "direction",
    "occurred_at",
    "topic",
    "summary",
    "satisfaction",
    "follow_up_needed",
    "source",
    "created_at",
    "updated_at",
]
DEAL_COLUMNS = [
    "id",
    "tenant_id",
    "customer_id",
    "vehicle_id",
    "title",
    "stage",
    "expected_amount",
    "expected_close",
    "owner_id",
    "lost_reason",
    "closed_at",
    "created_at",
    "updated_at",
]
CALLTASK_COLUMNS = [
    "id",
    "tenant_id",
    "customer_id",
    "assigned_to_id",
    "due_date",
    "reason",
    "status",
    "done_at",
    "created_at",
    "updated_at",
]


def add_contacts(gen: DemoGenerator, cust_id: int, archetype: str, first_day: date, car: DemoCar) -> None:
    """A few interactions over the customer's time with the shop, a deal for some, a call task near 車検."""
    rng = gen.rng
    vehicle_id, maker, model, price = car.vehicle_id, car.maker, car.model, car.price
    active_until, expiry = car.active_until, car.expiry
    for _ in range(rng.randint(1, 3)):
        day = gen.day(first_day, active_until)
        topic = rng.choice(list(INTERACTION_SUMMARIES))
        satisfaction = rng.choices((None, 2, 3, 4, 5), weights=(3, 1, 2, 4, 3))[0]
        gen.out.interactions.append(
            (
                gen.take_id(Interaction),
                gen.tenant.pk,
                cust_id,
                rng.choice(gen.staff_ids),
                rng.choice(("visit", "phone", "phone", "email", "line")),
                rng.choice(("inbound", "outbound")),
                gen.at(day),
                topic,
                rng.choice(INTERACTION_SUMMARIES[topic]),
                satisfaction,
                False,
                "manual",
                gen.now,
                gen.now,
            )
        )
    if gen.kind == "dealer" and archetype != "churned" and rng.random() < 0.2:
        stage = rng.choices(
            ("lead", "contacted", "proposal", "negotiation", "won", "lost"), weights=(3, 3, 2, 2, 2, 2)
        )[0]
        closed = (
            gen.at(gen.day(gen.today - timedelta(days=60), gen.today)) if stage in ("won", "lost") else None
        )
        gen.out.deals.append(
            (
                gen.take_id(Deal),
                gen.tenant.pk,
                cust_id,
                vehicle_id,
                f"{maker} {model} 乗り換え",
                stage,
                int(price * rng.uniform(0.9, 1.2)) // 1000 * 1000,
                gen.day(gen.today - timedelta(days=5), gen.today + timedelta(days=60)),
                rng.choice(gen.staff_ids),
                "他社で購入" if stage == "lost" else "",
                closed,
                gen.now,
                gen.now,
            )
        )
    if gen.today <= expiry <= gen.today + timedelta(days=45) and rng.random() < 0.3:
        gen.out.call_tasks.append(
            (
                gen.take_id(CallTask),
                gen.tenant.pk,
                cust_id,
                rng.choice(gen.staff_ids),
                gen.day(gen.today - timedelta(days=2), gen.today + timedelta(days=6)),
                "車検のご案内（メール不可のためお電話）",
                "open",
                None,
                gen.now,
                gen.now,
            )
        )
