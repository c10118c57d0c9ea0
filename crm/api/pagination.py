"""Cursor paging of every list (the PAGINATION setting): keysets over a total order.

DRF imports the classes named in its settings while `rest_framework.views` itself is still loading, so
this module imports only light DRF modules and no models.
"""

from __future__ import annotations

import functools
import operator
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import F, Q

# Django's row-value comparison `(a, b) > (x, y)` (what composite primary keys use), with a portable
# fallback where the database lacks it.
from django.db.models.fields.tuple_lookups import (
    Tuple,
    TupleGreaterThan,
    TupleGreaterThanOrEqual,
    TupleLessThan,
    TupleLessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.utils.urls import replace_query_param

CURSOR_SALT = "kizuna.api.cursor.v1"
# A cursor holds a few ordering values; anything much longer was not made by us.
CURSOR_MAX_LENGTH = 2_000
# The column whose changes an `updated_since` sync follows; a walk in its order is bounded in time.
SYNC_FIELD = "updated_at"
_INT_RANGE = (-(2**63), 2**63 - 1)


class InvalidCursor(exceptions.ValidationError):
    """A cursor that is malformed, forged, out of range or meant for another list: a 400, never a loop."""

    def __init__(self, message=None):
        super().__init__(
            {
                "cursor": [
                    message
                    or _(
                        "Invalid cursor: use the next or previous link exactly as the API gave it, "
                        "or start again without a cursor."
                    )
                ]
            }
        )


class SortKey(NamedTuple):
    """One column of a list's order: its attname, direction and model field."""

    name: str
    descending: bool
    field: models.Field

    @property
    def term(self) -> str:
        return f"-{self.name}" if self.descending else self.name


class Cursor(NamedTuple):
    """The decoded content of a cursor (see StableCursorPagination)."""

    position: tuple
    reverse: bool  # a `previous` link: the rows before the position, read backwards
    inclusive: bool  # the row at the position itself belongs to the page (after an empty page)
    until: datetime | None  # the sync bound of the walk, set by its first page


def total_ordering(model: type[models.Model], ordering) -> list[SortKey]:
    """The ordering as sort keys ending in a unique, non-null column (the primary key if none is).

    Keyset paging needs a total order: without the tie-breaker, rows sharing every ordering value
    have no position between them. Keys after the first unique one cannot change the order and are
    dropped; the tie-breaker takes the direction of the last key, so `-created_at` pages by
    (`-created_at`, `-id`).
    """
    if isinstance(ordering, str):
        ordering = (ordering,)
    keys: list[SortKey] = []
    for term in ordering:
        if not isinstance(term, str) or "__" in term:
            raise ImproperlyConfigured(f"Cursor paging orders by model columns only, not {term!r}.")
        name = term.removeprefix("-")
        try:
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise ImproperlyConfigured(f"Cursor paging: {model.__name__} has no column {name!r}.") from exc
        if not field.concrete or field.many_to_many:
            raise ImproperlyConfigured(f"Cursor paging: {model.__name__}.{name} is not a column.")
        if any(key.name == field.attname for key in keys):
            continue
        keys.append(SortKey(field.attname, term.startswith("-"), field))
        if field.primary_key or (field.unique and not field.null):
            return keys
    pk = model._meta.pk
    keys.append(SortKey(pk.attname, keys[-1].descending if keys else False, pk))
    return keys


def _order_by(keys: list[SortKey], *, reverse: bool) -> list:
    # NULL sorts as the greatest value on every database (PostgreSQL's own default), so a nullable
    # key has one order for the ORDER BY and for the seek condition below.
    order = []
    for key in keys:
        column = F(key.name)
        if key.descending != reverse:
            order.append(column.desc(nulls_first=True) if key.field.null else column.desc())
        else:
            order.append(column.asc(nulls_last=True) if key.field.null else column.asc())
    return order


def _equal(key: SortKey, value) -> Q:
    return Q(**{f"{key.name}__isnull": True}) if value is None else Q(**{key.name: value})


def _beyond(key: SortKey, value, *, descending: bool) -> Q:
    """Rows strictly after `value` in this key's direction, NULL being the greatest value."""
    if value is None:
        return Q(**{f"{key.name}__isnull": False}) if descending else Q(pk__in=[])
    if descending:
        return Q(**{f"{key.name}__lt": value})
    after = Q(**{f"{key.name}__gt": value})
    return after | Q(**{f"{key.name}__isnull": True}) if key.field.null else after


def seek_condition(keys: list[SortKey], position: tuple, *, reverse: bool = False, inclusive: bool = False):
    """The rows after `position` in the order of `keys` (before it when `reverse`), as a filter.

    The usual case, every key non-null and in one direction (the sync order `updated_at, id`), is
    one row-value comparison `(updated_at, id) > (%s, %s)`: on PostgreSQL the index
    `(tenant, updated_at, id)` starts its scan right at the position however many rows share the
    timestamp (SQLite gets Django's equivalent `a > x OR (a = x AND b > y)`). Other orders (mixed
    directions, nullable keys) expand to the same OR of ANDs, with NULL sorting last.
    """
    directions = [key.descending != reverse for key in keys]
    if len(set(directions)) == 1 and not any(key.field.null for key in keys):
        descending = directions[0]
        if len(keys) == 1:
            lookup = ("lt" if descending else "gt") + ("e" if inclusive else "")
            return Q(**{f"{keys[0].name}__{lookup}": position[0]})
        lookups = {
            (False, False): TupleGreaterThan,
            (False, True): TupleGreaterThanOrEqual,
            (True, False): TupleLessThan,
            (True, True): TupleLessThanOrEqual,
        }
        return lookups[descending, inclusive](Tuple(*(F(key.name) for key in keys)), tuple(position))
    alternatives = [
        functools.reduce(
            operator.and_,
            [*map(_equal, keys[:n], position[:n]), _beyond(key, value, descending=directions[n])],
        )
        for n, (key, value) in enumerate(zip(keys, position, strict=True))
    ]
    if inclusive:
        alternatives.append(functools.reduce(operator.and_, map(_equal, keys, position)))
    return functools.reduce(operator.or_, alternatives)


def _dump(value):
    """An ordering value as JSON, exactly: datetimes in UTC to the microsecond, decimals as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise ImproperlyConfigured(f"Cursor paging cannot order by a {type(value).__name__} value.")


def _load(key: SortKey, raw):
    """The ordering value `_dump` wrote for this key, or InvalidCursor: the cursor is canonical."""
    if raw is None:
        if key.field.null:
            return None
        raise InvalidCursor()
    field = key.field.target_field if key.field.is_relation else key.field
    try:
        if isinstance(field, models.DateTimeField):
            value = datetime.fromisoformat(raw) if isinstance(raw, str) else None
            if value is None or value.tzinfo is None:
                raise InvalidCursor()
            value = value.astimezone(UTC)
        elif isinstance(field, models.DateField):
            value = date.fromisoformat(raw) if isinstance(raw, str) else None
        elif isinstance(raw, dict | list) or (isinstance(raw, str) and "\x00" in raw):
            raise InvalidCursor()
        else:
            value = field.to_python(raw)
            field.run_validators(value)  # integer ranges of the database, max_length, decimal digits
        if isinstance(value, int) and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise InvalidCursor()
    except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidCursor() from exc
    canonical = _dump(value)
    # Exactly what _dump writes (so 1 is not true, "1" or 1.0, and a time has one spelling).
    if value is None or type(canonical) is not type(raw) or canonical != raw:
        raise InvalidCursor()
    return value


class StableCursorPagination(CursorPagination):
    """Keyset cursors over a total order: every row of a list exactly once, however many rows tie.

    The cursor carries the whole ordering key of the last row seen (e.g. its `updated_at` to the
    microsecond and its `id`), and the next page is the rows after that key (`seek_condition`).
    DRF's own CursorPagination kept only the first ordering value plus an offset over the rows
    sharing it, capped at 1,000: after a bulk import of more rows with one `updated_at`, the same
    page came back forever.

    * **Order.** The view's ordering (or the client's `?ordering=` among `ordering_fields`),
      completed by the primary key (`total_ordering`). One query per page, whatever the page.
    * **Sync guarantee.** A walk in the sync order (`updated_at`, `id`) is bounded by the time of
      its first page, carried in every cursor: it ends even while rows keep changing, and returns
      every row not changed meanwhile exactly once. A row changed during the walk moves to the end
      of the order, beyond that bound: this walk shows it at most once (at its old place, if it was
      reached before the change) and the next `updated_since` sync returns it. So a client that
      starts each sync at the greatest `updated_at` it has received loses nothing and receives a
      row twice only when it changed in between.
    * **Opaque and signed.** A cursor is base64 JSON signed with SECRET_KEY (`django.core.signing`):
      a forged, garbled, out-of-range or other list's cursor is a 400 with a message, never a 500
      or a loop. Cursors do not expire, but rotating SECRET_KEY (beyond its fallbacks) voids them.
    * **`previous`** links read backwards from the first row of the page; after an empty page
      (its rows were deleted meanwhile) the links include the cursor's own row.
    """

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_description = _(
        "Opaque cursor of a page: follow the `next` (or `previous`) link as given; "
        "omit it for the first page."
    )
    page_size_query_description = _("Rows per page (default 50, at most 500).")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.model = queryset.model
        self.keys = total_ordering(self.model, self.get_ordering(request, queryset, view))
        self.ordering = tuple(key.term for key in self.keys)
        self.cursor = cursor = self.decode_cursor(request)

        if cursor is not None:
            self.until = cursor.until
        elif self.keys[0].name == SYNC_FIELD:
            self.until = timezone.now()
        else:
            self.until = None
        if self.until is not None:
            queryset = queryset.filter(**{f"{SYNC_FIELD}__lte": self.until})
        reverse = cursor is not None and cursor.reverse
        queryset = queryset.order_by(*_order_by(self.keys, reverse=reverse))
        if cursor is not None:
            queryset = queryset.filter(
                seek_condition(self.keys, cursor.position, reverse=reverse, inclusive=cursor.inclusive)
            )

        # One row more than the page says whether there is a page beyond it.
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page

    def get_ordering(self, request, queryset, view):
        """The client's `?ordering=` through the view's OrderingFilter, else the view's ordering."""
        for backend in getattr(view, "filter_backends", None) or ():
            if hasattr(backend, "get_ordering"):
                chosen = backend().get_ordering(request, queryset, view)
                if chosen:
                    return chosen
                break
        return getattr(view, "ordering", None) or type(self).ordering

    def _position(self, row) -> tuple:
        return tuple(getattr(row, key.name) for key in self.keys)

    def get_next_link(self):
        if not self.has_next:
            return None
        if self.page:
            return self.encode_cursor(self._position(self.page[-1]), reverse=False)
        return self.encode_cursor(self.cursor.position, reverse=False, inclusive=True)

    def get_previous_link(self):
        if not self.has_previous:
            return None
        if self.page:
            return self.encode_cursor(self._position(self.page[0]), reverse=True)
        return self.encode_cursor(self.cursor.position, reverse=True, inclusive=True)

    def encode_cursor(self, position, *, reverse, inclusive=False):
        payload = {
            "m": self.model._meta.label_lower,
            "o": list(self.ordering),
            "p": [_dump(value) for value in position],
            "r": reverse,
            "i": inclusive,
            "u": _dump(self.until),
        }
        token = signing.dumps(payload, salt=CURSOR_SALT)
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request) -> Cursor | None:
        token = request.query_params.get(self.cursor_query_param)
        if not token:  # absent or `cursor=`: the first page
            return None
        if len(token) > CURSOR_MAX_LENGTH:
            raise InvalidCursor()
        try:
            payload = signing.loads(token, salt=CURSOR_SALT)
        except (signing.BadSignature, ValueError, UnicodeError) as exc:
            raise InvalidCursor() from exc
        if not isinstance(payload, dict) or not {"m", "o", "p", "r", "i", "u"} <= payload.keys():
            raise InvalidCursor()
        if payload["m"] != self.model._meta.label_lower or payload["o"] != list(self.ordering):
            raise InvalidCursor(
                _("This cursor belongs to another list or ordering: start again without a cursor.")
            )
        raw = payload["p"]
        if not isinstance(raw, list) or len(raw) != len(self.keys):
            raise InvalidCursor()
        if not isinstance(payload["r"], bool) or not isinstance(payload["i"], bool):
            raise InvalidCursor()
        # The sync bound belongs to a walk in the sync order, and only to one.
        until = payload["u"]
        if (until is not None) != (self.keys[0].name == SYNC_FIELD):
            raise InvalidCursor()
        if until is not None:
            until = _load(self.keys[0], until)
        position = tuple(_load(key, value) for key, value in zip(self.keys, raw, strict=True))
        return Cursor(position=position, reverse=payload["r"], inclusive=payload["i"], until=until)
