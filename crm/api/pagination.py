"""Cursor paging of every list (the PAGINATION setting)."""

from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """Opaque cursors over a stable order: rows changed while paging are neither lost nor doubled."""

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
