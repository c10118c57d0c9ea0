"""Platform-level models: users, tenants and memberships."""

from datetime import time

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.tenancy.roles import Role, role_at_least
from crm.tenancy.scoping import TenantManager, TenantOwned, TenantQuerySet


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who logs in. Users log in by e-mail; `is_staff` is reserved for the platform operator."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self):
        return self.display_name or self.get_full_name() or self.email

    @property
    def label(self) -> str:
        return str(self)


slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$", _("Use 3–50 lower-case letters, digits and hyphens.")
)


class Tenant(models.Model):
    """A dealership, garage or shop. Everything a customer of Kizuna owns hangs off one tenant."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Tokyo")
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    sender_email = models.EmailField(_("sender e-mail"), blank=True)
    sender_name = models.CharField(_("sender name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # Reminder e-mails go out only inside this window, in the tenant's time zone.
    send_window_start = models.TimeField(_("send window start"), default=time(9, 0))
    send_window_end = models.TimeField(_("send window end"), default=time(19, 0))
    six_month_check_enabled = models.BooleanField(_("6-month check reminders"), default=False)
    churn_horizon_months = models.PositiveSmallIntegerField(_("churn horizon (months)"), default=18)
    require_two_factor = models.BooleanField(
        _("require two-factor authentication for owners and managers"),
        default=False,
        help_text=_(
            "Owners and managers must set up an authenticator app before they can use this shop, and "
            "enter a code at every login."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def from_email(self) -> str:
        from email.utils import formataddr

        from django.conf import settings

        if not self.sender_email:
            return settings.DEFAULT_FROM_EMAIL
        return formataddr((self.sender_name or self.name, self.sender_email))


class Membership(TenantOwned):
    """A user's role in one tenant. A user may hold memberships in several tenants."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")]
        indexes = [models.Index(fields=["tenant", "role"], name="membership_tenant_role")]

    def __str__(self):
        return f"{self.user} @ {self.tenant_id} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return role_at_least(self.role, minimum)


# --- API access (owned by the API work) ------------------------------------------------------------
class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiKey(TenantOwned):
    """A tenant's key for an integration (till, dealer management system, website).

    Only a SHA-256 hash of the key is stored: the raw key is shown once at creation. A key of
    256 random bits needs no slow password hash; the hash lets the server look the key up in one
    indexed query without ever holding the raw value.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)  # shown in lists so owners can tell keys apart
    hashed_key = models.CharField(max_length=64, editable=False)
    scope = models.CharField(_("scope"), max_length=5, choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="apikey_tenant_created"),
            # Authentication finds the key (and so the tenant) from the hash alone: the one lookup that
            # cannot lead with the tenant, because the tenant is what it discovers.
            models.Index(fields=["hashed_key"], name="apikey_hashed_key"),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(TenantOwned):
    """The stored answer to a POST sent with an `Idempotency-Key` header, replayed on retries."""

    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)  # null while the first request runs
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotentrequest_unique_key"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="idempotentrequest_created")]


# --- audit trail (append-only) ------------------------------------------------------------------------
class AuditAction(models.TextChoices):
    EXPORT_VIEWED = "export_viewed", _("Export downloaded")
    CUSTOMER_CREATED = "customer_created", _("Customer created")
    CUSTOMER_CHANGED = "customer_changed", _("Customer changed")
    CUSTOMERS_BULK_CHANGED = "customers_bulk_changed", _("Customers changed in bulk")
    CONSENT_CHANGED = "consent_changed", _("Consent changed")
    CUSTOMER_EXPORTED = "customer_exported", _("Customer data exported (APPI)")
    CUSTOMER_ERASED = "customer_erased", _("Customer erased (APPI)")
    MEMBER_ADDED = "member_added", _("Member added")
    MEMBER_ROLE_CHANGED = "member_role_changed", _("Member role changed")
    MEMBER_REMOVED = "member_removed", _("Member removed")
    API_KEY_CREATED = "api_key_created", _("API key created")
    API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
    HANDOVER_RUN = "handover_run", _("Handover run")
    SETTINGS_CHANGED = "settings_changed", _("Shop settings changed")
    IMPORT_QUEUED = "import_queued", _("CSV import started")
    AUDIT_EXPORTED = "audit_exported", _("Audit log exported")


class AuditEventQuerySet(TenantQuerySet):
    """Audit rows are written once: the ORM refuses bulk updates and deletes (the database does too)."""

    def update(self, **kwargs):
        raise AuditImmutableError("Audit events cannot be changed.")

    update.alters_data = True

    def delete(self):
        raise AuditImmutableError("Audit events cannot be deleted.")

    delete.alters_data = True

    def bulk_update(self, *args, **kwargs):
        raise AuditImmutableError("Audit events cannot be changed.")


class AuditImmutableError(RuntimeError):
    """Something tried to change or delete an audit event."""


class AuditEvent(TenantOwned):
    """Who did what to which record, when and from where. Append-only.

    It must not become a second copy of personal data: `summary` names records by id, never by a
    customer's name, and `changes` holds old → new values only for fields that are not personal
    (consent state, assigned staff, channel…); for personal fields (name, contact, address, notes…)
    it records *that* they changed, not their values. An erased customer therefore leaves nothing
    personal behind here, and the trail itself never needs rewriting.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=False)
    # No database constraint and no cascade: deleting a user or key must not rewrite (or delete) the
    # trail, which the trigger would refuse anyway; `actor_label` keeps who it was.
    actor_user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_api_key = models.ForeignKey(
        ApiKey,
        verbose_name=_("API key"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # What the actor was when the user or key row is gone (e.g. "owner@shop.jp", "API key kzn_ab12…").
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    target_type = models.CharField(_("target type"), max_length=40, blank=True)
    target_id = models.BigIntegerField(_("target id"), null=True, blank=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = TenantManager.from_queryset(AuditEventQuerySet)()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="auditevent_tenant_time"),
            models.Index(fields=["tenant", "action", "created_at"], name="auditevent_tenant_action"),
            models.Index(fields=["tenant", "target_type", "target_id"], name="auditevent_tenant_target"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutableError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError("Audit events cannot be deleted.")
