"""A member's work in a shop, and handing it to another member: the apps register it, the core moves it.

A member holds work in the apps above the tenancy core: customers assigned to them (customers), their
open deals and open call tasks (interactions). The core must count it (the member-removal page) and
hand it to a successor when the member leaves (`crm.tenancy.services.membership_remove`) without
importing those apps, so each app's `AppConfig.ready()` registers here:

* `register_member_work(app_label, name, count=…, reassign=…)`: one kind of work, with
  `count(*, tenant, user) -> int` and `reassign(*, tenant, from_user, to_user, now) -> int` (the rows
  moved, in one statement). `name` is how the kind reads in a `MemberWorkload` (`workload.open_deals`);
  `moved_key` names its count in the audit trail ("deals_moved").
* `register_handover_recorder(app_label, fn)`: called once after a member's work was handed over, with
  what moved, so an app keeps its own record of it (customers writes its `Handover` row).

Everything runs in the caller's transaction, in the order of INSTALLED_APPS and then of registration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

if TYPE_CHECKING:
    from crm.models import Tenant, User


@dataclass(frozen=True)
class MemberWork:
    """One kind of work a member can hold in a shop, registered by the app that owns it."""

    app_label: str
    name: str
    count: Callable[..., int]
    reassign: Callable[..., int]
    moved_key: str


HandoverRecorder = Callable[..., object]  # fn(*, tenant, from_user, to_user, performed_by, moved)

_work: dict[str, MemberWork] = {}
_recorders: dict[str, list[HandoverRecorder]] = {}


def register_member_work(
    app_label: str,
    name: str,
    *,
    count: Callable[..., int],
    reassign: Callable[..., int],
    moved_key: str | None = None,
) -> None:
    """Register one kind of work. Registering it again (a second `ready()`) replaces it in place."""
    existing = _work.get(name)
    if existing is not None and existing.app_label != app_label:
        raise ImproperlyConfigured(f"Member work {name!r} is already registered by {existing.app_label!r}.")
    _work[name] = MemberWork(app_label, name, count, reassign, moved_key or f"{name}_moved")


def register_handover_recorder(app_label: str, fn: HandoverRecorder) -> None:
    """Register `fn(*, tenant, from_user, to_user, performed_by, moved)`, called after every handover."""
    recorders = _recorders.setdefault(app_label, [])
    if fn not in recorders:
        recorders.append(fn)


def _app_order(label: str) -> tuple[int, str]:
    order = {config.label: index for index, config in enumerate(apps.get_app_configs())}
    return order.get(label, len(order)), label


def member_work_kinds() -> list[MemberWork]:
    """Every registered kind of work, in the order of INSTALLED_APPS, then of registration."""
    ranked = list(_work.values())
    ranked.sort(key=lambda kind: _app_order(kind.app_label))  # stable: registration order within an app
    return ranked


def handover_recorders() -> list[HandoverRecorder]:
    """Every registered handover recorder, in the order of INSTALLED_APPS."""
    return [fn for label in sorted(_recorders, key=_app_order) for fn in _recorders[label]]


class MemberWorkload(Mapping[str, int]):
    """What a member holds in one shop, or what was handed over: a count per registered kind of work.

    Read by kind, as a mapping (`workload["open_deals"]`) or an attribute (`workload.open_deals`, as
    templates do). Every registered kind is present, zero when there is none.
    """

    __slots__ = ("_counts",)

    def __init__(self, counts: Mapping[str, int] | None = None):
        given = dict(counts or {})
        self._counts = {kind.name: given.pop(kind.name, 0) for kind in member_work_kinds()}
        if given:
            raise ValueError(f"Unregistered kinds of member work: {', '.join(sorted(given))}")

    def __getitem__(self, name: str) -> int:
        return self._counts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __getattr__(self, name: str) -> int:
        if name.startswith("_"):  # never look up our own slot here (copying, unpickling)
            raise AttributeError(name)
        try:
            return self._counts[name]
        except KeyError:
            raise AttributeError(f"No kind of member work is registered as {name!r}") from None

    def __repr__(self) -> str:
        return f"MemberWorkload({self._counts!r})"

    @property
    def any(self) -> bool:
        return any(self._counts.values())

    def audit_changes(self) -> dict[str, int]:
        """The counts under each kind's audit name (`{"customers_moved": 2, "deals_moved": 1, …}`)."""
        return {kind.moved_key: self._counts[kind.name] for kind in member_work_kinds()}


def member_workload(*, tenant: Tenant, user: User) -> MemberWorkload:
    """Everything `user` holds in `tenant` (customers, open deals, open calls…), in `tenant` only."""
    return MemberWorkload({kind.name: kind.count(tenant=tenant, user=user) for kind in member_work_kinds()})


def member_work_reassign(
    *, tenant: Tenant, from_user: User, to_user: User, names: Iterable[str] | None = None
) -> MemberWorkload:
    """Move the named kinds of work (every kind when `names` is None) from one member to another.

    A name no installed app registered moves nothing. One timestamp for the whole move; no record is
    written (see `member_work_hand_over`).
    """
    wanted = None if names is None else set(names)
    now = timezone.now()
    return MemberWorkload(
        {
            kind.name: kind.reassign(tenant=tenant, from_user=from_user, to_user=to_user, now=now)
            for kind in member_work_kinds()
            if wanted is None or kind.name in wanted
        }
    )


def member_work_hand_over(
    *,
    tenant: Tenant,
    from_user: User,
    to_user: User,
    performed_by: User,
    names: Iterable[str] | None = None,
) -> MemberWorkload:
    """Move a member's work to another (as `member_work_reassign`), then let each app record it."""
    moved = member_work_reassign(tenant=tenant, from_user=from_user, to_user=to_user, names=names)
    for record in handover_recorders():
        record(tenant=tenant, from_user=from_user, to_user=to_user, performed_by=performed_by, moved=moved)
    return moved
