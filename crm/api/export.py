"""CSV export of any filtered list at `<list>/export/`: every matching row, safe to open in a
spreadsheet (crm.common.csvsafe), and itself audited."""

from __future__ import annotations

import itertools
import json
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action

from crm.common.csvsafe import csv_response
from crm.models import AuditAction
from crm.security.audit import audit_record

EXPORT_CHUNK_ROWS = 2_000


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


class CsvExportMixin:
    """The `export` action of a tenant viewset (needs `model`, `ordering`, `export_filename`, `tenant`)."""

    def export_rows(self, queryset):
        serializer_class = self.get_serializer_class()
        fields = [name for name, f in serializer_class().fields.items() if not f.write_only]
        context = self.get_serializer_context()

        def rows():
            # Chunks through the list serializer, so per-page batch loading (e.g. tags) applies.
            objects = queryset.iterator(chunk_size=EXPORT_CHUNK_ROWS)
            while chunk := list(itertools.islice(objects, EXPORT_CHUNK_ROWS)):
                for data in serializer_class(chunk, many=True, context=context).data:
                    yield [_csv_value(data.get(name)) for name in fields]

        return fields, rows()

    @extend_schema(
        summary=_("Export the filtered list as CSV"),
        description=_(
            "Every row matching the same filters as the list (no paging), as CSV with a UTF-8 BOM "
            "for Excel. Cells that could start a spreadsheet formula are neutralised."
        ),
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=_("CSV file"))},
    )
    @action(detail=False, methods=["get"], url_path="export", pagination_class=None)
    def export(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if not queryset.query.order_by:
            queryset = queryset.order_by(*self.ordering)
        header, rows = self.export_rows(queryset)
        audit_record(
            tenant=self.tenant,
            action=AuditAction.EXPORT_VIEWED,
            target_type=self.model._meta.label_lower,
            summary=f"API {self.export_filename}",
            # Filter names only: a free-text filter (q=) may itself be a customer's name.
            changes={"filters": sorted(request.query_params.keys())},
            request=request,
        )
        return csv_response(itertools.chain([header], rows), self.export_filename)
