"""Vehicles: makes and models with their prices, plates, VINs, registrations, 車検 expiries, mileage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from customers.models import Vehicle
from workspace.demo.generator import DemoGenerator, add_months

CARS = [  # maker, model, grades, new price (JPY)
    ("トヨタ", "プリウス", ["S", "G", "Z"], 3_200_000),
    ("トヨタ", "アクア", ["X", "G", "Z"], 2_300_000),
    ("トヨタ", "ヤリス", ["X", "G", "Z"], 1_900_000),
    ("トヨタ", "カローラ", ["G", "W×B"], 2_500_000),
    ("トヨタ", "アルファード", ["X", "Z", "Executive Lounge"], 5_400_000),
    ("トヨタ", "ハリアー", ["S", "G", "Z"], 3_700_000),
    ("トヨタ", "シエンタ", ["X", "G", "Z"], 2_300_000),
    ("ホンダ", "N-BOX", ["ベース", "カスタム"], 1_700_000),
    ("ホンダ", "フリード", ["AIR", "CROSSTAR"], 2_700_000),
    ("ホンダ", "フィット", ["BASIC", "HOME", "RS"], 1_900_000),
    ("ホンダ", "ヴェゼル", ["G", "e:HEV Z"], 2_900_000),
    ("日産", "ノート", ["X", "AUTECH"], 2_300_000),
    ("日産", "セレナ", ["X", "ハイウェイスター"], 3_000_000),
    ("日産", "デイズ", ["S", "X", "ハイウェイスター"], 1_400_000),
    ("スズキ", "スペーシア", ["HYBRID G", "HYBRID X"], 1_500_000),
    ("スズキ", "ハスラー", ["HYBRID G", "HYBRID X"], 1_500_000),
    ("ダイハツ", "タント", ["L", "X", "カスタムRS"], 1_400_000),
    ("マツダ", "CX-5", ["20S", "XD"], 3_000_000),
    ("スバル", "フォレスター", ["Touring", "SPORT"], 3_300_000),
]
PLATE_KANA = "あいうえかきくけこさすせそたちつてとなにぬねのはひふほまみむめもやゆよらりるれろわ"
VEHICLE_COLUMNS = [
    "id",
    "tenant_id",
    "customer_id",
    "external_ref",
    "maker",
    "model_name",
    "grade",
    "model_year",
    "plate_number",
    "vin",
    "first_registration",
    "inspection_expiry",
    "mileage",
    "status",
    "created_at",
    "updated_at",
]


@dataclass
class DemoCar:
    """A customer's car as the rest of their history needs it."""

    vehicle_id: int
    maker: str
    model: str
    price: int
    new_car: bool
    expiry: date  # 車検満了日
    mileage: int  # at the first visit
    yearly_km: int
    active_until: date  # the customer's last day with the shop (today unless they churned)


def add_vehicle(gen: DemoGenerator, cust_id: int, archetype: str, first_day: date, area) -> DemoCar:
    """The customer's car, bought or first brought in on `first_day`."""
    rng = gen.rng
    maker, model, grades, price = rng.choice(CARS)
    new_car = rng.random() < 0.55
    reg = first_day if new_car else add_months(first_day, -12 * rng.randint(2, 8))
    # 車検: 3 years after first registration for a new car, then every 2 years.
    expiry = add_months(reg, 36)
    while expiry < gen.today - timedelta(days=60):
        expiry = add_months(expiry, 24)
    status = rng.choice(("owned", "owned", "sold")) if archetype == "churned" else "owned"
    vehicle_id = gen.take_id(Vehicle)
    plate = (
        f"{area[3]} {rng.choice((300, 330, 500, 530, 580))} {rng.choice(PLATE_KANA)} "
        f"{rng.randint(1, 99):02d}-{rng.randint(0, 99):02d}"
    )
    mileage = rng.randint(1000, 20000) if new_car else rng.randint(20000, 90000)
    yearly_km = rng.randint(5000, 15000)
    active_until = (
        gen.today
        if archetype != "churned"
        else gen.day(first_day + timedelta(days=200), add_months(gen.today, -20))
    )
    gen.out.vehicles.append(
        (
            vehicle_id,
            gen.tenant.pk,
            cust_id,
            "",
            maker,
            model,
            rng.choice(grades),
            reg.year,
            plate,
            _vin(gen),
            reg,
            expiry,
            mileage + yearly_km * max(0, (active_until - first_day).days) // 365,
            status,
            gen.now,
            gen.now,
        )
    )
    return DemoCar(vehicle_id, maker, model, price, new_car, expiry, mileage, yearly_km, active_until)


def _vin(gen: DemoGenerator) -> str:
    letters = "ABCDEFGHJK"
    rng = gen.rng
    return f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(10, 99)}-{rng.randrange(10**7):07d}"
