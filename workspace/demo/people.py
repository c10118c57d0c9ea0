"""Customers and households: Japanese names with their kana, addresses, contact details, consent,
acquisition channel and cost, tags, and the archetype that decides their history.

Customer archetypes give a believable mix for RFM and churn: one-time buyers, repeat customers,
loyal ones (who do every 車検 and oil change with us), churned ones (nothing for years) and new ones.
"""

from __future__ import annotations

from datetime import date, timedelta

from customers.models import Customer, Household
from workspace.demo.generator import DemoGenerator, Generated, add_months
from workspace.demo.history import add_history
from workspace.demo.vehicles import add_vehicle

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
HOUSEHOLD_COLUMNS = ["id", "tenant_id", "name", "notes", "created_at", "updated_at"]


def generate_customers(gen: DemoGenerator) -> Generated:
    """Every customer in turn, with their household, car, history and contacts; the rows, in order."""
    areas = AREAS[gen.kind]
    archetype_col = 0 if gen.kind == "dealer" else 1
    previous = None
    for i in range(gen.n):
        archetype = gen.weighted(ARCHETYPES, archetype_col)
        if previous and gen.rng.random() < 0.08:
            family, area, household_id = previous["family"], previous["area"], previous["household_id"]
            if household_id is None:
                household_id = gen.take_id(Household)
                gen.out.households.append(
                    (household_id, gen.tenant.pk, f"{family[0]}家", "", gen.now, gen.now)
                )
                previous["household_id"] = household_id
                last = list(gen.out.customers[-1])
                last[CUSTOMER_COLUMNS.index("household_id")] = household_id
                gen.out.customers[-1] = tuple(last)
            address = previous["address"]
            postal = previous["postal"]
        else:
            family = gen.rng.choice(FAMILY_NAMES)
            area = gen.rng.choice(areas)
            household_id = None
            postal = f"{area[2]}-{gen.rng.randrange(10000):04d}"
            address = f"{area[1]}{gen.rng.randint(1, 5)}-{gen.rng.randint(1, 30)}-{gen.rng.randint(1, 20)}"
        gender = gen.rng.choice(("male", "female", "male", "female", "unknown"))
        given = gen.rng.choice(
            MALE_NAMES
            if gender == "male"
            else FEMALE_NAMES
            if gender == "female"
            else MALE_NAMES + FEMALE_NAMES
        )
        cust_id = gen.take_id(Customer)
        first_day = _first_day(gen, archetype)
        channel = gen.weighted(CHANNEL_COST)
        cac = int(CHANNEL_COST[channel][1] * gen.rng.uniform(0.5, 1.5))
        email = f"{given[2]}.{family[2]}{i}@example.jp" if gen.rng.random() < 0.85 else ""
        consent_roll = gen.rng.random()
        consent_at = gen.at(first_day)
        if consent_roll < 0.7:
            consent, c_at, source, out_at = "opted_in", consent_at, "店頭申込書", None
        elif consent_roll < 0.8:
            consent, c_at, source, out_at = "opted_out", None, "電話", consent_at + timedelta(days=30)
        else:
            consent, c_at, source, out_at = "unknown", None, "", None
        birthday = date(gen.rng.randint(1950, 2004), gen.rng.randint(1, 12), gen.rng.randint(1, 28))
        gen.out.customers.append(
            (
                cust_id,
                gen.tenant.pk,
                f"C{cust_id:07d}",
                family[0],
                given[0],
                family[1],
                given[1],
                email,
                _phone(gen),
                postal,
                area[0],
                address,
                birthday,
                gender,
                household_id,
                channel,
                cac,
                gen.staff_ids[i % len(gen.staff_ids)],
                consent,
                c_at,
                source,
                out_at,
                "",
                gen.now,
                gen.now,
            )
        )
        previous = {
            "family": family,
            "area": area,
            "household_id": household_id,
            "address": address,
            "postal": postal,
        }
        if gen.tag_ids and gen.rng.random() < 0.15:
            gen.out.customer_tags.append((gen.tenant.pk, cust_id, gen.rng.choice(gen.tag_ids)))
        car = add_vehicle(gen, cust_id, archetype, first_day, area)
        add_history(gen, cust_id, archetype, first_day, car)
    _birthdays_today(gen)
    return gen.out


def _first_day(gen: DemoGenerator, archetype: str) -> date:
    if archetype == "new":
        return gen.day(gen.today - timedelta(days=90), gen.today - timedelta(days=3))
    if archetype == "churned":
        return gen.day(gen.start, add_months(gen.start, 12 * max(1, gen.years // 2)))
    if archetype in ("loyal", "repeat"):
        # Customers who stayed loyal tend to be the ones who have been with the shop longest.
        return gen.day(gen.start, gen.start + (gen.today - gen.start) * 3 // 5)
    return gen.day(gen.start, gen.today - timedelta(days=120))


def _phone(gen: DemoGenerator) -> str:
    rng = gen.rng
    return f"0{rng.choice((80, 90, 70))}-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}"


def _birthdays_today(gen: DemoGenerator) -> None:
    """Make sure the Today page has birthdays to show: two customers are born on today's date."""
    for index in range(min(2, len(gen.out.customers))):
        row = list(gen.out.customers[index * 7 % len(gen.out.customers)])
        row[12] = date(row[12].year, gen.today.month, min(gen.today.day, 28))
        gen.out.customers[index * 7 % len(gen.out.customers)] = tuple(row)
