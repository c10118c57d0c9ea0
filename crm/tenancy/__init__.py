"""The tenancy core: shops (tenants), the people who work in them (memberships and roles), and the two
walls between shops — the scoped manager of every tenant-owned model (`scoping`) and PostgreSQL
row-level security (`rls`, `dbroles`, `checks`). The middleware picks each request's shop; `services`
and `selectors` are the shop's and its members' use-cases; `onboarding` and `handover` are the
registries through which the apps above add their part to creating a shop and to a member's leaving."""
