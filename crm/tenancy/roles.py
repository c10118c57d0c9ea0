"""Roles of a membership and what each may do. Higher roles include everything below them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    STAFF = "staff", _("Staff")
    MANAGER = "manager", _("Manager")
    OWNER = "owner", _("Owner")


ROLE_RANK = {Role.VIEWER: 0, Role.STAFF: 1, Role.MANAGER: 2, Role.OWNER: 3}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


# What each use-case needs; views and API permissions read these names instead of raw roles.
EDIT_CUSTOMERS = Role.STAFF  # customers, vehicles, purchases, services, interactions, deals
EDIT_RULES = Role.MANAGER  # reminder rules and templates, segment map, analytics settings
VIEW_ALL_ANALYTICS = Role.MANAGER
MANAGE_TENANT = Role.OWNER  # members, roles, API keys, tenant settings, handover
PRINT_POSTCARDS = Role.STAFF  # print batches of postcards: build, download the PDF (customers' addresses)
POST_POSTCARDS = Role.MANAGER  # mark a print batch as posted (its reminders become sent), cancel it
DRAFT_CAMPAIGNS = Role.STAFF  # campaigns: draft, edit, preview, submit, cancel
APPROVE_CAMPAIGNS = Role.MANAGER  # approve a campaign above the shop's threshold; the threshold itself
