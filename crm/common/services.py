"""The write helper every app's services share."""

from __future__ import annotations

from typing import Any

from django.db import models


def model_update(
    *, instance: models.Model, fields: list[str], data: dict[str, Any]
) -> tuple[models.Model, bool]:
    """Set the given fields from `data` (missing keys are left alone), validate, save only what changed.

    Returns the instance and whether anything changed. `updated_at` (auto_now) is saved with any change.
    """
    changed = []
    for field in fields:
        if field not in data:
            continue
        model_field = instance._meta.get_field(field)
        if isinstance(model_field, models.ManyToManyField):
            raise ValueError(f"model_update does not set many-to-many field {field!r}")
        if getattr(instance, field) != data[field]:
            setattr(instance, field, data[field])
            changed.append(field)
    if not changed:
        return instance, False
    instance.full_clean()
    update_fields = list(changed)
    update_fields += [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
    instance.save(update_fields=update_fields)
    return instance, True
