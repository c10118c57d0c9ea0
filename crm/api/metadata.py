"""What OPTIONS answers (the METADATA setting)."""

from rest_framework.metadata import SimpleMetadata


class SchemaPointerMetadata(SimpleMetadata):
    """OPTIONS answers name, description and media types; the OpenAPI schema describes the fields.

    DRF's default also lists writable fields per method by building the object, which fails on
    routes without a primary key (e.g. `by-ref/<external_ref>/`).
    """

    def determine_metadata(self, request, view):
        metadata = super().determine_metadata(request, view)
        metadata.pop("actions", None)
        metadata["schema"] = "/api/schema/"
        return metadata

    def determine_actions(self, request, view):
        return {}
