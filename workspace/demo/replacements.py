"""A planted replacement (代替) process: dealers' customers trade their car in with a known hazard.

After the rest of a dealer's history is generated, every owned car is followed half-year by half-year
from the day it came to the shop. In each half-year it may need repairs (more often and dearer as it
ages and runs up kilometres), and its customer replaces it with probability

    sigmoid(intercept + per_year · age + per_10k_km · mileage / 10,000
            + per_100k_repairs · repairs / ¥100,000)

(age in years, mileage at the half-year's start, repairs of the 12 months before it), but only while the
customer still comes to the shop. A replacement is a new (or used) car sale on a random day of that
half-year; the old car becomes `sold`, and the customer's later services and purchases move to the new
car, which is followed in turn. So the shop's replacement model has a true answer to find, and
`NO_SIGNAL` (a constant hazard for every car, active customer or not) one it must not find.

Draws come from their own random stream (seed, kind, stream, "replacements"), so the rest of the demo
data is the same with or without this module.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from customers.models import Purchase, Vehicle
from workspace.demo.generator import DemoGenerator, add_months
from workspace.demo.history import _service  # the one service-row builder of the demo
from workspace.demo.vehicles import CARS

WINDOW = timedelta(days=183)
# gen.out row positions (workspace.demo.vehicles.VEHICLE_COLUMNS, history.PURCHASE/SERVICE_COLUMNS).
V_ID, V_CUSTOMER, V_MAKER, V_MODEL, V_REG, V_EXPIRY, V_KM, V_STATUS = 0, 2, 4, 5, 10, 11, 12, 13
P_CUSTOMER, P_VEHICLE, P_DATE, P_CATEGORY = 2, 3, 5, 6
S_CUSTOMER, S_VEHICLE, S_DATE, S_KIND, S_KM = 2, 3, 5, 6, 9


@dataclass(frozen=True)
class Hazard:
    intercept: float
    per_year: float
    per_10k_km: float
    per_100k_repairs: float
    active_only: bool = True  # customers who stopped coming do not replace with this shop

    def probability(self, age_years: float, km: float, repairs: float) -> float:
        logit = (
            self.intercept
            + self.per_year * age_years
            + self.per_10k_km * km / 10_000
            + self.per_100k_repairs * repairs / 100_000
        )
        return 1 / (1 + math.exp(-logit))


PLANTED = Hazard(intercept=-5.2, per_year=0.28, per_10k_km=0.10, per_100k_repairs=0.8)
NO_SIGNAL = Hazard(
    intercept=math.log(0.08 / 0.92), per_year=0, per_10k_km=0, per_100k_repairs=0, active_only=False
)
# seed_tenant plants this one (tests swap in NO_SIGNAL).
DEMO_HAZARD = PLANTED


@dataclass
class _Car:
    index: int  # row position in gen.out.vehicles
    start: date
    reg: date
    km_start: int
    yearly_km: int


def add_replacements(gen: DemoGenerator, *, seed: int, hazard: Hazard | None = None) -> int:
    """Plant the replacement process into a dealer's generated rows; returns the replacements made."""
    if gen.kind != "dealer":
        return 0
    hazard = hazard or DEMO_HAZARD
    rng = random.Random(f"{seed}/{gen.kind}/{gen.tenant.slug}/replacements")
    out = gen.out
    sale_codes = {gen.categories.get("new_car"), gen.categories.get("used_car")}
    sale_day = {}
    last_seen: dict[int, date] = {}
    for row in out.purchases:
        if row[P_CATEGORY] in sale_codes and row[P_VEHICLE] is not None:
            sale_day.setdefault(row[P_VEHICLE], row[P_DATE])
        last_seen[row[P_CUSTOMER]] = max(last_seen.get(row[P_CUSTOMER], row[P_DATE]), row[P_DATE])
    services_of: dict[int, list[int]] = {}
    for i, row in enumerate(out.services):
        services_of.setdefault(row[S_VEHICLE], []).append(i)
        last_seen[row[S_CUSTOMER]] = max(last_seen.get(row[S_CUSTOMER], row[S_DATE]), row[S_DATE])
    purchases_of: dict[int, list[int]] = {}
    for i, row in enumerate(out.purchases):
        if row[P_VEHICLE] is not None and row[P_CATEGORY] not in sale_codes:
            purchases_of.setdefault(row[P_VEHICLE], []).append(i)

    queue = []
    for index, row in enumerate(list(out.vehicles)):
        if row[V_STATUS] != "owned" or row[V_ID] not in sale_day:
            continue
        first = [out.services[i][S_KM] for i in services_of.get(row[V_ID], []) if out.services[i][S_KM]]
        km_start = min(first) if first else row[V_KM]
        queue.append(_Car(index, sale_day[row[V_ID]], row[V_REG], km_start, _yearly_km(rng)))
    replaced = 0
    while queue:  # cars in generation order; a replacement car joins the end
        car = queue.pop(0)
        customer = out.vehicles[car.index][V_CUSTOMER]
        # A customer counts as coming to the shop until a year after their last recorded visit.
        active_until = gen.today
        if hazard.active_only:
            active_until = min(gen.today, last_seen.get(customer, car.start) + timedelta(days=365))
        event = _follow(gen, rng, hazard, car, active_until)
        vehicle_id = out.vehicles[car.index][V_ID]
        if event is None:
            _set(out.vehicles, car.index, {V_KM: _km(car, min(gen.today, active_until))})
            _rewrite_services(out, services_of.get(vehicle_id, []), car, vehicle_id, None)
            continue
        replaced += 1
        new = _new_car(gen, rng, car, customer, event)
        _set(out.vehicles, car.index, {V_KM: _km(car, event), V_STATUS: "sold"})
        new_id = out.vehicles[new.index][V_ID]
        moved = _rewrite_services(out, services_of.get(vehicle_id, []), car, vehicle_id, (event, new, new_id))
        services_of[new_id] = moved
        for i in purchases_of.get(vehicle_id, []):
            if out.purchases[i][P_DATE] > event:
                _set(out.purchases, i, {P_VEHICLE: new_id})
        queue.append(new)
    return replaced


def _yearly_km(rng: random.Random) -> int:
    return int(min(40_000, max(3_000, rng.lognormvariate(math.log(10_000), 0.45))))


def _km(car: _Car, day: date) -> int:
    return car.km_start + car.yearly_km * max(0, (day - car.start).days) // 365


def _follow(gen, rng, hazard: Hazard, car: _Car, active_until: date) -> date | None:
    """Half-years of one car: its repairs, and the day of its replacement (None: never)."""
    repairs: list[tuple[date, int]] = []
    day = car.start + timedelta(days=rng.randint(0, 90))
    while day < gen.today and day <= active_until:
        end = min(day + WINDOW, gen.today)
        age = (day - car.reg).days / 365.25
        km = _km(car, day)
        recent = sum(amount for d, amount in repairs if d > day - timedelta(days=365))
        share = (end - day).days / WINDOW.days  # the last half-year may be cut short by today
        if rng.random() < 1 - (1 - hazard.probability(age, km, recent)) ** share:
            return day + timedelta(days=rng.randrange(max(1, (end - day).days)))
        if rng.random() < share * min(0.85, 0.04 + 0.05 * age + 0.02 * km / 10_000):
            repair_day = day + timedelta(days=rng.randrange(max(1, (end - day).days)))
            if repair_day <= active_until:
                amount = int(rng.randrange(20_000, 90_000, 1000) * (1 + age / 6)) // 1000 * 1000
                repairs.append((repair_day, amount))
                _repair(gen, car, repair_day, amount)
        day = end
    return None


def _repair(gen: DemoGenerator, car: _Car, day: date, amount: int) -> None:
    row = gen.out.vehicles[car.index]
    _service(gen, row[V_CUSTOMER], row[V_ID], day, "repair", amount, amount, 0.35, _km(car, day))


def _set(rows: list, index: int, changes: dict) -> None:
    row = list(rows[index])
    for position, value in changes.items():
        row[position] = value
    rows[index] = tuple(row)


def _rewrite_services(out, indexes: list[int], car: _Car, vehicle_id: int, moved_to) -> list[int]:
    """Mileage of the car's services from its km model; those after a replacement move to the new car."""
    moved = []
    for i in indexes:
        row = out.services[i]
        if row[S_VEHICLE] != vehicle_id:
            continue
        if moved_to and row[S_DATE] > moved_to[0]:
            _event, new, new_id = moved_to
            kind = row[S_KIND]
            if kind == "shaken" and row[S_DATE] < add_months(new.reg, 34):
                kind = "check_12m"  # a car under 3 years old has no 車検 yet
            _set(out.services, i, {S_VEHICLE: new_id, S_KIND: kind, S_KM: _km(new, row[S_DATE])})
            moved.append(i)
        elif row[S_KM] is not None:
            _set(out.services, i, {S_KM: _km(car, row[S_DATE])})
    return moved


def _new_car(gen: DemoGenerator, rng: random.Random, old: _Car, customer: int, day: date) -> _Car:
    maker, model, grades, price = rng.choice(CARS)
    new_car = rng.random() < 0.6
    reg = day if new_car else add_months(day, -12 * rng.randint(2, 6))
    expiry = add_months(reg, 36)
    while expiry < gen.today - timedelta(days=60):
        expiry = add_months(expiry, 24)
    km_start = rng.randint(10, 500) if new_car else rng.randint(20_000, 70_000)
    vehicle_id = gen.take_id(Vehicle)
    old_row = gen.out.vehicles[old.index]
    gen.out.vehicles.append(
        (vehicle_id, gen.tenant.pk, customer, "", maker, model, rng.choice(grades), reg.year,
         f"{old_row[8].split()[0]} 500 さ {rng.randint(1, 99):02d}-{rng.randint(0, 99):02d}",
         f"RP{vehicle_id:08d}",
         reg, expiry, km_start, "owned", gen.now, gen.now)
    )  # fmt: skip
    amount = int(price * rng.uniform(0.95, 1.2)) if new_car else int(price * rng.uniform(0.35, 0.7))
    code = "new_car" if new_car else "used_car"
    gen.out.purchases.append(
        (gen.take_id(Purchase), gen.tenant.pk, customer, vehicle_id, "", day, gen.categories[code],
         amount, int(amount * (0.10 if new_car else 0.15)), False,
         f"{maker} {model} {'新車' if new_car else '中古車'}（{old_row[V_MAKER]} {old_row[V_MODEL]} 下取り）",
         gen.now, gen.now)
    )  # fmt: skip
    return _Car(len(gen.out.vehicles) - 1, day, reg, km_start, _yearly_km(rng))
