from crm.tenancy.roles import EDIT_CUSTOMERS, EDIT_RULES, MANAGE_TENANT, VIEW_ALL_ANALYTICS


def tenancy(request):
    membership = getattr(request, "membership", None)

    def can(minimum):
        return bool(membership and membership.has_role(minimum))

    return {
        "active_tenant": getattr(request, "tenant", None),
        "active_membership": membership,
        "user_memberships": getattr(request, "memberships", []),
        "perms_kizuna": {
            "edit_customers": can(EDIT_CUSTOMERS),
            "edit_rules": can(EDIT_RULES),
            "view_all_analytics": can(VIEW_ALL_ANALYTICS),
            "manage_tenant": can(MANAGE_TENANT),
        },
    }
