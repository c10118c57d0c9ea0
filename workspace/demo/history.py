"""Purchases and service records: what each customer archetype buys and has done over the years.

One-time and new customers buy the car and maybe an accessory; repeat, loyal and churned ones come back
for 車検, 12-month checks, oil changes, parts, tyres, repairs and insurance, loyal ones the most.
"""

from __future__ import annotations

from datetime import date, timedelta

from customers.models import Purchase, ServiceRecord
from workspace.demo.contacts import add_contacts
from workspace.demo.generator import DemoGenerator, add_months
from workspace.demo.vehicles import DemoCar

PURCHASE_COLUMNS = [
    "id",
    "tenant_id",
    "customer_id",
    "vehicle_id",
    "external_ref",
    "date",
    "category_id",
    "amount",
    "gross_profit",
    "is_refund",
    "description",
    "created_at",
    "updated_at",
]
SERVICE_COLUMNS = [
    "id",
    "tenant_id",
    "customer_id",
    "vehicle_id",
    "external_ref",
    "date",
    "kind",
    "amount",
    "gross_profit",
    "mileage",
    "next_due",
    "notes",
    "created_at",
    "updated_at",
]


def _purchase(gen: DemoGenerator, cust_id, vehicle_id, day, code, lo, hi, margin, description=""):
    amount = gen.rng.randrange(lo, hi + 1, 1000) if hi - lo >= 1000 else lo
    gp = int(amount * margin * gen.rng.uniform(0.8, 1.2))
    gen.out.purchases.append(
        (
            gen.take_id(Purchase),
            gen.tenant.pk,
            cust_id,
            vehicle_id,
            "",
            day,
            gen.categories[code],
            amount,
            gp,
            False,
            description,
            gen.now,
            gen.now,
        )
    )


def _service(gen: DemoGenerator, cust_id, vehicle_id, day, kind, lo, hi, margin, mileage):
    amount = gen.rng.randrange(lo, hi + 1, 100)
    months = {"shaken": 24, "check_12m": 12, "check_6m": 6, "oil_change": 6}.get(kind)
    next_due = add_months(day, months) if months else None
    gen.out.services.append(
        (
            gen.take_id(ServiceRecord),
            gen.tenant.pk,
            cust_id,
            vehicle_id,
            "",
            day,
            kind,
            amount,
            int(amount * margin),
            mileage,
            next_due,
            "",
            gen.now,
            gen.now,
        )
    )


def add_history(gen: DemoGenerator, cust_id: int, archetype: str, first_day: date, car: DemoCar) -> None:
    """The customer's purchases and services with `car`, then their contacts with the shop."""
    rng = gen.rng
    vehicle_id, maker, model, price, new_car = car.vehicle_id, car.maker, car.model, car.price, car.new_car
    expiry, mileage, yearly_km, active_until = car.expiry, car.mileage, car.yearly_km, car.active_until
    if gen.kind == "dealer":
        if new_car:
            _purchase(
                gen,
                cust_id,
                vehicle_id,
                first_day,
                "new_car",
                int(price * 0.95),
                int(price * 1.25),
                0.10,
                f"{maker} {model} 新車",
            )
        else:
            used = int(price * rng.uniform(0.35, 0.7))
            _purchase(
                gen,
                cust_id,
                vehicle_id,
                first_day,
                "used_car",
                used,
                int(used * 1.1),
                0.15,
                f"{maker} {model} 中古車",
            )
    else:
        _service(gen, cust_id, vehicle_id, first_day, "repair", 8_000, 60_000, 0.4, mileage)

    if archetype in ("one_time", "new"):
        if rng.random() < 0.5:
            day = gen.day(first_day + timedelta(days=14), min(gen.today, first_day + timedelta(days=200)))
            if day <= gen.today:
                _purchase(
                    gen,
                    cust_id,
                    vehicle_id,
                    day,
                    "accessories",
                    10_000,
                    80_000,
                    0.3,
                    "フロアマット・ドラレコ",
                )
        return
    intensity = {"repeat": 0.6, "loyal": 0.95, "churned": 0.7}[archetype]
    # 車検 done with us on each expiry inside the active period.
    shaken = add_months(expiry, -24)
    shaken_days = []
    while shaken > first_day:
        if shaken <= active_until and rng.random() < intensity + 0.1:
            shaken_days.append(shaken - timedelta(days=rng.randint(3, 30)))
        shaken = add_months(shaken, -24)
    for day in shaken_days:
        km = mileage + yearly_km * (day - first_day).days // 365
        _service(gen, cust_id, vehicle_id, day, "shaken", 80_000, 160_000, 0.3, km)
        if archetype == "loyal" and add_months(day, 12) <= active_until:
            _service(gen, cust_id, vehicle_id, add_months(day, 12), "check_12m", 15_000, 28_000, 0.35, km)
    # Oil changes and small purchases through the active period.
    day = first_day + timedelta(days=rng.randint(60, 200))
    step = (60, 150) if archetype == "loyal" else (90, 240)
    while day <= active_until:
        km = mileage + yearly_km * (day - first_day).days // 365
        roll = rng.random()
        if roll < intensity:
            _service(gen, cust_id, vehicle_id, day, "oil_change", 4_000, 9_000, 0.45, km)
        if roll < intensity * 0.5:
            _purchase(gen, cust_id, vehicle_id, day, "parts", 3_000, 40_000, 0.3, "ワイパー・バッテリー等")
        if gen.kind == "garage" and roll < intensity * 0.25:
            _service(gen, cust_id, vehicle_id, day, "tyre_change", 3_000, 80_000, 0.25, km)
        if roll > 0.97:
            _service(gen, cust_id, vehicle_id, day, "repair", 10_000, 180_000, 0.35, km)
        day += timedelta(days=rng.randint(*step))
    if gen.kind == "dealer" and archetype == "loyal":
        year = first_day
        while year <= active_until:
            _purchase(gen, cust_id, vehicle_id, year, "insurance", 50_000, 110_000, 0.12, "任意保険")
            year = add_months(year, 12)
    if archetype == "loyal" and rng.random() < 0.05:
        # A refund: a returned accessory.
        day = gen.day(first_day, active_until)
        amount = rng.randrange(5_000, 30_000, 1000)
        _purchase(gen, cust_id, vehicle_id, day, "accessories", amount, amount, 0.3, "カーナビ")
        gen.out.purchases.append(
            (
                gen.take_id(Purchase),
                gen.tenant.pk,
                cust_id,
                vehicle_id,
                "",
                min(gen.today, day + timedelta(days=7)),
                gen.categories["accessories"],
                -amount,
                -int(amount * 0.3),
                True,
                "返品",
                gen.now,
                gen.now,
            )
        )
    add_contacts(gen, cust_id, archetype, first_day, car)
