"""Deterministic, realistic demo data for a dealership or a garage.

Every value comes from one `random.Random` seeded by (seed, kind, stream), and every date is relative
to `today`, so the same seed on the same day gives the same data. Rows are generated in Python and
written with `crm.db.bulk.bulk_insert` (COPY on PostgreSQL), never one `save()` per row: 100,000
customers with about a million purchase and service rows load in well under two minutes.

Customer archetypes give a believable mix for RFM and churn: one-time buyers, repeat customers,
loyal ones (who do every 車検 and oil change with us), churned ones (nothing for years) and new ones.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from crm.db.bulk import analyze_tables, bulk_insert, next_id, reset_sequences
from crm.models import Tenant
from customers.models import (
    Customer,
    CustomerTag,
    Household,
    Purchase,
    PurchaseCategory,
    ServiceRecord,
    Tag,
    Vehicle,
)
from interactions.models import CallTask, Deal, Interaction

JST = ZoneInfo("Asia/Tokyo")

# (kanji, katakana, romaji)
FAMILY_NAMES = [
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"),
    ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"),
    ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"),
    ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"),
    ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"),
    ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"),
    ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"),
]
MALE_NAMES = [
    ("翔太", "ショウタ", "shota"),
    ("大輔", "ダイスケ", "daisuke"),
    ("健太", "ケンタ", "kenta"),
    ("拓也", "タクヤ", "takuya"),
    ("直樹", "ナオキ", "naoki"),
    ("誠", "マコト", "makoto"),
    ("浩", "ヒロシ", "hiroshi"),
    ("隆", "タカシ", "takashi"),
    ("和也", "カズヤ", "kazuya"),
    ("蓮", "レン", "ren"),
    ("悠真", "ユウマ", "yuma"),
    ("茂", "シゲル", "shigeru"),
    ("修", "オサム", "osamu"),
    ("達也", "タツヤ", "tatsuya"),
    ("亮", "リョウ", "ryo"),
]
FEMALE_NAMES = [
    ("陽子", "ヨウコ", "yoko"),
    ("恵子", "ケイコ", "keiko"),
    ("美咲", "ミサキ", "misaki"),
    ("由美", "ユミ", "yumi"),
    ("直美", "ナオミ", "naomi"),
    ("さくら", "サクラ", "sakura"),
    ("愛", "アイ", "ai"),
    ("真由美", "マユミ", "mayumi"),
    ("裕子", "ユウコ", "yuko"),
    ("結衣", "ユイ", "yui"),
    ("智子", "トモコ", "tomoko"),
    ("久美子", "クミコ", "kumiko"),
    ("花子", "ハナコ", "hanako"),
    ("明美", "アケミ", "akemi"),
    ("葵", "アオイ", "aoi"),
]
# prefecture, city, postal code prefix, plate region
AREAS = {
    "dealer": [
        ("愛知県", "名古屋市中区", "460", "名古屋"),
        ("愛知県", "名古屋市千種区", "464", "名古屋"),
        ("愛知県", "豊田市", "471", "豊田"),
        ("愛知県", "岡崎市", "444", "岡崎"),
        ("愛知県", "一宮市", "491", "一宮"),
        ("岐阜県", "岐阜市", "500", "岐阜"),
        ("三重県", "四日市市", "510", "三重"),
    ],
    "garage": [
        ("神奈川県", "横浜市港北区", "222", "横浜"),
        ("神奈川県", "川崎市中原区", "211", "川崎"),
        ("神奈川県", "相模原市中央区", "252", "相模"),
        ("東京都", "町田市", "194", "多摩"),
        ("東京都", "世田谷区", "154", "世田谷"),
    ],
}
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
CHANNEL_COST = {  # acquisition channel -> (weight, typical CAC in JPY)
    "walk_in": (30, 8_000),
    "website": (20, 18_000),
    "portal": (15, 35_000),
    "referral": (15, 5_000),
    "flyer": (8, 12_000),
    "event": (7, 25_000),
    "phone": (3, 4_000),
    "other": (2, 0),
}
# archetype -> weight (dealer, garage)
ARCHETYPES = {"one_time": (38, 30), "repeat": (25, 30), "loyal": (15, 20), "churned": (15, 15), "new": (7, 5)}
TAG_NAMES = ["VIP", "法人", "紹介者", "下取りあり", "EV関心"]
INTERACTION_SUMMARIES = {
    "inspection": ["車検のご案内をお電話。来月予約いただく。", "車検見積もりをご説明。代車希望あり。"],
    "service": ["オイル交換後の乗り心地を確認。問題なし。", "点検結果をご説明。ブレーキパッド残量少。"],
    "new_car": ["新型モデルの試乗にご来店。", "乗り換えのご相談。見積もり提示。"],
    "used_car": ["中古車在庫のお問い合わせ。", "下取り査定のご依頼。"],
    "parts": ["タイヤ交換のお見積もり。", "ドラレコ取付のご相談。"],
    "insurance": ["任意保険の更新をご案内。", "保険の補償内容を見直し。"],
    "other": ["近況伺いのお電話。", "イベントのご案内。"],
}


@dataclass
class DemoUser:
    email: str
    display_name: str
    role: str


DEMO_TENANTS = {
    "demo-dealer": {
        "name": "デモ自動車 名古屋店",
        "kind": "dealer",
        "customers": 300,
        "sender_email": "info@dealer.demo",
        "phone": "052-123-4567",
        "address": "愛知県名古屋市中区栄1-2-3",
        "domain": "dealer.demo",
    },
    "demo-garage": {
        "name": "デモ整備工場",
        "kind": "garage",
        "customers": 180,
        "sender_email": "info@garage.demo",
        "phone": "045-987-6543",
        "address": "神奈川県横浜市港北区新横浜2-3-4",
        "domain": "garage.demo",
    },
}
STAFF_NAMES = {"owner": "オーナー 佐藤", "manager": "店長 鈴木", "staff": "営業 高橋", "viewer": "事務 田中"}


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the month's end (dateutil's relativedelta is 10x slower)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def demo_users(domain: str) -> list[DemoUser]:
    return [DemoUser(f"{role}@{domain}", name, role) for role, name in STAFF_NAMES.items()]


@dataclass
class Generated:
    households: list = field(default_factory=list)
    customers: list = field(default_factory=list)
    customer_tags: list = field(default_factory=list)
    vehicles: list = field(default_factory=list)
    purchases: list = field(default_factory=list)
    services: list = field(default_factory=list)
    interactions: list = field(default_factory=list)
    deals: list = field(default_factory=list)
    call_tasks: list = field(default_factory=list)


CUSTOMER_COLUMNS = [
    "id",
    "tenant_id",
    "external_ref",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "email",
    "phone",
    "postal_code",
    "prefecture",
    "address",
    "birthday",
    "gender",
    "household_id",
    "acquisition_channel",
    "acquisition_cost",
    "assigned_staff_id",
    "consent",
    "consent_at",
    "consent_source",
    "opted_out_at",
    "notes",
    "created_at",
    "updated_at",
]
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


class DemoGenerator:
    """Generates one tenant's rows; ids are assigned from the tables' next free ids."""

    def __init__(
        self,
        *,
        tenant: Tenant,
        kind: str,
        customers: int,
        years: int,
        seed: int,
        today: date,
        staff_ids: list[int],
        stream: int = 0,
    ):
        self.tenant = tenant
        self.kind = kind
        self.n = customers
        self.years = years
        self.today = today
        self.staff_ids = staff_ids
        self.rng = random.Random(f"{seed}/{kind}/{stream}")
        self.start = add_months(today, -12 * years)
        self.now = timezone.now()
        self.categories = dict(PurchaseCategory.objects.for_tenant(tenant).values_list("code", "id"))
        self.ids = {
            m: next_id(m)
            for m in (Household, Customer, Vehicle, Purchase, ServiceRecord, Interaction, Deal, CallTask)
        }
        self.tag_ids: list[int] = []
        self.out = Generated()

    # --- helpers ------------------------------------------------------------------------------
    def _id(self, model) -> int:
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def _day(self, lo: date, hi: date) -> date:
        if hi <= lo:
            return lo
        return lo + timedelta(days=self.rng.randrange((hi - lo).days + 1))

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, time(self.rng.randint(9, 18), self.rng.choice((0, 15, 30, 45))), JST)

    def _weighted(self, table: dict, column: int = 0):
        keys = list(table)
        weights = [table[k][column] if isinstance(table[k], tuple) else table[k] for k in keys]
        return self.rng.choices(keys, weights=weights)[0]

    def _purchase(self, cust_id, vehicle_id, day, code, lo, hi, margin, description=""):
        amount = self.rng.randrange(lo, hi + 1, 1000) if hi - lo >= 1000 else lo
        gp = int(amount * margin * self.rng.uniform(0.8, 1.2))
        self.out.purchases.append(
            (
                self._id(Purchase),
                self.tenant.pk,
                cust_id,
                vehicle_id,
                "",
                day,
                self.categories[code],
                amount,
                gp,
                False,
                description,
                self.now,
                self.now,
            )
        )

    def _service(self, cust_id, vehicle_id, day, kind, lo, hi, margin, mileage):
        amount = self.rng.randrange(lo, hi + 1, 100)
        months = {"shaken": 24, "check_12m": 12, "check_6m": 6, "oil_change": 6}.get(kind)
        next_due = add_months(day, months) if months else None
        self.out.services.append(
            (
                self._id(ServiceRecord),
                self.tenant.pk,
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
                self.now,
                self.now,
            )
        )

    def _phone(self) -> str:
        rng = self.rng
        return f"0{rng.choice((80, 90, 70))}-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}"

    def _vin(self) -> str:
        letters = "ABCDEFGHJK"
        rng = self.rng
        return f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(10, 99)}-{rng.randrange(10**7):07d}"

    # --- generation ---------------------------------------------------------------------------
    def generate(self) -> Generated:
        areas = AREAS[self.kind]
        archetype_col = 0 if self.kind == "dealer" else 1
        previous = None
        for i in range(self.n):
            archetype = self._weighted(ARCHETYPES, archetype_col)
            if previous and self.rng.random() < 0.08:
                family, area, household_id = previous["family"], previous["area"], previous["household_id"]
                if household_id is None:
                    household_id = self._id(Household)
                    self.out.households.append(
                        (household_id, self.tenant.pk, f"{family[0]}家", "", self.now, self.now)
                    )
                    previous["household_id"] = household_id
                    last = list(self.out.customers[-1])
                    last[CUSTOMER_COLUMNS.index("household_id")] = household_id
                    self.out.customers[-1] = tuple(last)
                address = previous["address"]
                postal = previous["postal"]
            else:
                family = self.rng.choice(FAMILY_NAMES)
                area = self.rng.choice(areas)
                household_id = None
                postal = f"{area[2]}-{self.rng.randrange(10000):04d}"
                address = (
                    f"{area[1]}{self.rng.randint(1, 5)}-{self.rng.randint(1, 30)}-{self.rng.randint(1, 20)}"
                )
            gender = self.rng.choice(("male", "female", "male", "female", "unknown"))
            given = self.rng.choice(
                MALE_NAMES
                if gender == "male"
                else FEMALE_NAMES
                if gender == "female"
                else MALE_NAMES + FEMALE_NAMES
            )
            cust_id = self._id(Customer)
            first_day = self._first_day(archetype)
            channel = self._weighted(CHANNEL_COST)
            cac = int(CHANNEL_COST[channel][1] * self.rng.uniform(0.5, 1.5))
            email = f"{given[2]}.{family[2]}{i}@example.jp" if self.rng.random() < 0.85 else ""
            consent_roll = self.rng.random()
            consent_at = self._at(first_day)
            if consent_roll < 0.7:
                consent, c_at, source, out_at = "opted_in", consent_at, "店頭申込書", None
            elif consent_roll < 0.8:
                consent, c_at, source, out_at = "opted_out", None, "電話", consent_at + timedelta(days=30)
            else:
                consent, c_at, source, out_at = "unknown", None, "", None
            birthday = date(self.rng.randint(1950, 2004), self.rng.randint(1, 12), self.rng.randint(1, 28))
            self.out.customers.append(
                (
                    cust_id,
                    self.tenant.pk,
                    f"C{cust_id:07d}",
                    family[0],
                    given[0],
                    family[1],
                    given[1],
                    email,
                    self._phone(),
                    postal,
                    area[0],
                    address,
                    birthday,
                    gender,
                    household_id,
                    channel,
                    cac,
                    self.staff_ids[i % len(self.staff_ids)],
                    consent,
                    c_at,
                    source,
                    out_at,
                    "",
                    self.now,
                    self.now,
                )
            )
            previous = {
                "family": family,
                "area": area,
                "household_id": household_id,
                "address": address,
                "postal": postal,
            }
            if self.tag_ids and self.rng.random() < 0.15:
                self.out.customer_tags.append((self.tenant.pk, cust_id, self.rng.choice(self.tag_ids)))
            self._history(cust_id, archetype, first_day, area)
        self._birthdays_today()
        return self.out

    def _first_day(self, archetype: str) -> date:
        if archetype == "new":
            return self._day(self.today - timedelta(days=90), self.today - timedelta(days=3))
        if archetype == "churned":
            return self._day(self.start, add_months(self.start, 12 * max(1, self.years // 2)))
        if archetype in ("loyal", "repeat"):
            # Customers who stayed loyal tend to be the ones who have been with the shop longest.
            return self._day(self.start, self.start + (self.today - self.start) * 3 // 5)
        return self._day(self.start, self.today - timedelta(days=120))

    def _history(self, cust_id: int, archetype: str, first_day: date, area) -> None:
        rng = self.rng
        maker, model, grades, price = rng.choice(CARS)
        new_car = rng.random() < 0.55
        reg = first_day if new_car else add_months(first_day, -12 * rng.randint(2, 8))
        # 車検: 3 years after first registration for a new car, then every 2 years.
        expiry = add_months(reg, 36)
        while expiry < self.today - timedelta(days=60):
            expiry = add_months(expiry, 24)
        status = rng.choice(("owned", "owned", "sold")) if archetype == "churned" else "owned"
        vehicle_id = self._id(Vehicle)
        plate = (
            f"{area[3]} {rng.choice((300, 330, 500, 530, 580))} {rng.choice(PLATE_KANA)} "
            f"{rng.randint(1, 99):02d}-{rng.randint(0, 99):02d}"
        )
        mileage = rng.randint(1000, 20000) if new_car else rng.randint(20000, 90000)
        yearly_km = rng.randint(5000, 15000)
        active_until = (
            self.today
            if archetype != "churned"
            else self._day(first_day + timedelta(days=200), add_months(self.today, -20))
        )
        self.out.vehicles.append(
            (
                vehicle_id,
                self.tenant.pk,
                cust_id,
                "",
                maker,
                model,
                rng.choice(grades),
                reg.year,
                plate,
                self._vin(),
                reg,
                expiry,
                mileage + yearly_km * max(0, (active_until - first_day).days) // 365,
                status,
                self.now,
                self.now,
            )
        )
        if self.kind == "dealer":
            if new_car:
                self._purchase(
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
                self._purchase(
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
            self._service(cust_id, vehicle_id, first_day, "repair", 8_000, 60_000, 0.4, mileage)

        if archetype in ("one_time", "new"):
            if rng.random() < 0.5:
                day = self._day(
                    first_day + timedelta(days=14), min(self.today, first_day + timedelta(days=200))
                )
                if day <= self.today:
                    self._purchase(
                        cust_id, vehicle_id, day, "accessories", 10_000, 80_000, 0.3, "フロアマット・ドラレコ"
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
            self._service(cust_id, vehicle_id, day, "shaken", 80_000, 160_000, 0.3, km)
            if archetype == "loyal" and add_months(day, 12) <= active_until:
                self._service(cust_id, vehicle_id, add_months(day, 12), "check_12m", 15_000, 28_000, 0.35, km)
        # Oil changes and small purchases through the active period.
        day = first_day + timedelta(days=rng.randint(60, 200))
        step = (60, 150) if archetype == "loyal" else (90, 240)
        while day <= active_until:
            km = mileage + yearly_km * (day - first_day).days // 365
            roll = rng.random()
            if roll < intensity:
                self._service(cust_id, vehicle_id, day, "oil_change", 4_000, 9_000, 0.45, km)
            if roll < intensity * 0.5:
                self._purchase(
                    cust_id, vehicle_id, day, "parts", 3_000, 40_000, 0.3, "ワイパー・バッテリー等"
                )
            if self.kind == "garage" and roll < intensity * 0.25:
                self._service(cust_id, vehicle_id, day, "tyre_change", 3_000, 80_000, 0.25, km)
            if roll > 0.97:
                self._service(cust_id, vehicle_id, day, "repair", 10_000, 180_000, 0.35, km)
            day += timedelta(days=rng.randint(*step))
        if self.kind == "dealer" and archetype == "loyal":
            year = first_day
            while year <= active_until:
                self._purchase(cust_id, vehicle_id, year, "insurance", 50_000, 110_000, 0.12, "任意保険")
                year = add_months(year, 12)
        if archetype == "loyal" and rng.random() < 0.05:
            # A refund: a returned accessory.
            day = self._day(first_day, active_until)
            amount = rng.randrange(5_000, 30_000, 1000)
            self._purchase(cust_id, vehicle_id, day, "accessories", amount, amount, 0.3, "カーナビ")
            self.out.purchases.append(
                (
                    self._id(Purchase),
                    self.tenant.pk,
                    cust_id,
                    vehicle_id,
                    "",
                    min(self.today, day + timedelta(days=7)),
                    self.categories["accessories"],
                    -amount,
                    -int(amount * 0.3),
                    True,
                    "返品",
                    self.now,
                    self.now,
                )
            )
        self._relationship(
            cust_id, vehicle_id, archetype, first_day, active_until, expiry, maker, model, price
        )

    def _relationship(
        self, cust_id, vehicle_id, archetype, first_day, active_until, expiry, maker, model, price
    ):
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            day = self._day(first_day, active_until)
            topic = rng.choice(list(INTERACTION_SUMMARIES))
            satisfaction = rng.choices((None, 2, 3, 4, 5), weights=(3, 1, 2, 4, 3))[0]
            self.out.interactions.append(
                (
                    self._id(Interaction),
                    self.tenant.pk,
                    cust_id,
                    rng.choice(self.staff_ids),
                    rng.choice(("visit", "phone", "phone", "email", "line")),
                    rng.choice(("inbound", "outbound")),
                    self._at(day),
                    topic,
                    rng.choice(INTERACTION_SUMMARIES[topic]),
                    satisfaction,
                    False,
                    "manual",
                    self.now,
                    self.now,
                )
            )
        if self.kind == "dealer" and archetype != "churned" and rng.random() < 0.2:
            stage = rng.choices(
                ("lead", "contacted", "proposal", "negotiation", "won", "lost"), weights=(3, 3, 2, 2, 2, 2)
            )[0]
            closed = (
                self._at(self._day(self.today - timedelta(days=60), self.today))
                if stage in ("won", "lost")
                else None
            )
            self.out.deals.append(
                (
                    self._id(Deal),
                    self.tenant.pk,
                    cust_id,
                    vehicle_id,
                    f"{maker} {model} 乗り換え",
                    stage,
                    int(price * rng.uniform(0.9, 1.2)) // 1000 * 1000,
                    self._day(self.today - timedelta(days=5), self.today + timedelta(days=60)),
                    rng.choice(self.staff_ids),
                    "他社で購入" if stage == "lost" else "",
                    closed,
                    self.now,
                    self.now,
                )
            )
        if self.today <= expiry <= self.today + timedelta(days=45) and rng.random() < 0.3:
            self.out.call_tasks.append(
                (
                    self._id(CallTask),
                    self.tenant.pk,
                    cust_id,
                    rng.choice(self.staff_ids),
                    self._day(self.today - timedelta(days=2), self.today + timedelta(days=6)),
                    "車検のご案内（メール不可のためお電話）",
                    "open",
                    None,
                    self.now,
                    self.now,
                )
            )

    def _birthdays_today(self) -> None:
        """Make sure the Today page has birthdays to show: two customers are born on today's date."""
        for index in range(min(2, len(self.out.customers))):
            row = list(self.out.customers[index * 7 % len(self.out.customers)])
            row[12] = date(row[12].year, self.today.month, min(self.today.day, 28))
            self.out.customers[index * 7 % len(self.out.customers)] = tuple(row)


@transaction.atomic
def seed_tenant(
    *,
    tenant: Tenant,
    kind: str,
    customers: int,
    years: int,
    seed: int,
    today: date,
    staff_ids: list[int],
    stream: int = 0,
) -> dict[str, int]:
    """Generate and bulk-load one tenant's demo rows. Returns the row count per table."""
    Tag.objects.bulk_create([Tag(tenant=tenant, name=n) for n in TAG_NAMES], ignore_conflicts=True)
    generator = DemoGenerator(
        tenant=tenant,
        kind=kind,
        customers=customers,
        years=years,
        seed=seed,
        today=today,
        staff_ids=staff_ids,
        stream=stream,
    )
    generator.tag_ids = list(Tag.objects.for_tenant(tenant).order_by("name").values_list("pk", flat=True))
    data = generator.generate()
    counts = {
        "households": bulk_insert(
            Household, ["id", "tenant_id", "name", "notes", "created_at", "updated_at"], data.households
        ),
        "customers": bulk_insert(Customer, CUSTOMER_COLUMNS, data.customers),
        "customer_tags": bulk_insert(CustomerTag, ["tenant_id", "customer_id", "tag_id"], data.customer_tags),
        "vehicles": bulk_insert(Vehicle, VEHICLE_COLUMNS, data.vehicles),
        "purchases": bulk_insert(Purchase, PURCHASE_COLUMNS, data.purchases),
        "service_records": bulk_insert(ServiceRecord, SERVICE_COLUMNS, data.services),
        "interactions": bulk_insert(Interaction, INTERACTION_COLUMNS, data.interactions),
        "deals": bulk_insert(Deal, DEAL_COLUMNS, data.deals),
        "call_tasks": bulk_insert(CallTask, CALLTASK_COLUMNS, data.call_tasks),
    }
    loaded = (Household, Customer, CustomerTag, Vehicle, Purchase, ServiceRecord, Interaction, Deal, CallTask)
    reset_sequences(*loaded)
    analyze_tables(*loaded)
    return counts
