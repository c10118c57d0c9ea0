"""The shared customer record: households, customers, vehicles, purchases and service records."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.tenancy.scoping import TenantOwned
from customers.validators import kana_validator, phone_validator, plate_validator, postal_code_validator


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=False)

    class Meta:
        abstract = True


def _external_ref_unique(model_name: str) -> models.UniqueConstraint:
    # An integration upserts by external_ref; blank means "entered in Kizuna", and may repeat.
    return models.UniqueConstraint(
        fields=["tenant", "external_ref"],
        condition=~Q(external_ref=""),
        name=f"{model_name}_unique_external_ref",
    )


def _same_tenant(obj, related, field: str):
    """Every foreign key of a tenant-owned row must stay inside that row's tenant."""
    if related is not None and related.tenant_id != obj.tenant_id:
        raise ValidationError(
            {field: _("Select a valid choice. That choice is not one of the available choices.")}
        )


class Household(TenantOwned, TimeStamped):
    """Customers who live together (a family sharing cars and one address)."""

    name = models.CharField(_("household name"), max_length=100)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        indexes = [models.Index(fields=["tenant", "name"], name="household_tenant_name")]

    def __str__(self):
        return self.name


class Tag(TenantOwned):
    name = models.CharField(_("tag"), max_length=50)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="tag_unique_name")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Not stated")


class PreferredLanguage(models.TextChoices):
    """The language a customer's e-mails are written in; each named in its own language."""

    JA = "ja", "日本語"
    EN = "en", "English"


class AcquisitionChannel(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    WEBSITE = "website", _("Website")
    PORTAL = "portal", _("Car portal site")
    REFERRAL = "referral", _("Referral")
    FLYER = "flyer", _("Flyer / direct mail")
    EVENT = "event", _("Event / fair")
    PHONE = "phone", _("Phone")
    OTHER = "other", _("Other")


class Consent(models.TextChoices):
    UNKNOWN = "unknown", _("Not asked")
    OPTED_IN = "opted_in", _("Opted in")
    OPTED_OUT = "opted_out", _("Opted out")


class Customer(TenantOwned, TimeStamped):
    """One shared record per customer: what the whole shop knows about them."""

    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    family_name = models.CharField(_("family name"), max_length=50)
    given_name = models.CharField(_("given name"), max_length=50, blank=True)
    family_name_kana = models.CharField(
        _("family name (kana)"), max_length=50, blank=True, validators=[kana_validator]
    )
    given_name_kana = models.CharField(
        _("given name (kana)"), max_length=50, blank=True, validators=[kana_validator]
    )
    email = models.EmailField(_("e-mail"), blank=True)
    # db_default too: bulk loaders (COPY, INSERT … SELECT) that do not list the column get Japanese.
    language = models.CharField(
        _("e-mail language"),
        max_length=5,
        choices=PreferredLanguage.choices,
        default=PreferredLanguage.JA,
        db_default=PreferredLanguage.JA,
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[phone_validator])
    postal_code = models.CharField(
        _("postal code"), max_length=8, blank=True, validators=[postal_code_validator]
    )
    prefecture = models.CharField(_("prefecture"), max_length=10, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, default=Gender.UNKNOWN)
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    acquisition_channel = models.CharField(
        _("acquisition channel"),
        max_length=20,
        choices=AcquisitionChannel.choices,
        default=AcquisitionChannel.OTHER,
    )
    acquisition_cost = models.PositiveIntegerField(_("acquisition cost (JPY)"), default=0)
    assigned_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # 特定電子メール法: marketing e-mail only with a recorded opt-in (when and where it was given).
    consent = models.CharField(
        _("marketing consent"), max_length=10, choices=Consent.choices, default=Consent.UNKNOWN
    )
    consent_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)
    consent_source = models.CharField(_("consent source"), max_length=100, blank=True)
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    tags = models.ManyToManyField(
        Tag, through="CustomerTag", blank=True, verbose_name=_("tags"), related_name="+"
    )
    notes = models.TextField(_("notes"), blank=True)
    # APPI erasure (削除請求): personal fields were removed at this time; amounts stay for the totals.
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [_external_ref_unique("customer")]
        indexes = [
            models.Index(
                fields=["tenant", "family_name_kana", "given_name_kana"], name="customer_tenant_kana"
            ),
            models.Index(fields=["tenant", "updated_at", "id"], name="customer_tenant_updated"),
            models.Index(fields=["tenant", "assigned_staff"], name="customer_tenant_staff"),
            models.Index(fields=["tenant", "phone"], name="customer_tenant_phone"),
            models.Index(fields=["tenant", "birthday"], name="customer_tenant_birthday"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}".strip()

    @property
    def can_receive_marketing_email(self) -> bool:
        # 特定電子メール法: an opt-in counts only when it was recorded with its time.
        return bool(self.email) and self.consent == Consent.OPTED_IN and self.consent_at is not None

    def clean(self):
        _same_tenant(self, self.household, "household")
        if self.consent == Consent.OPTED_IN and not self.consent_at:
            raise ValidationError({"consent_at": _("Record when the customer opted in.")})


class CustomerTag(TenantOwned):
    """Through table of Customer.tags; it carries the tenant like every tenant-owned row."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_tags")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer", "tag"], name="customertag_unique")
        ]
        indexes = [models.Index(fields=["tenant", "tag"], name="customertag_tenant_tag")]


class VehicleStatus(models.TextChoices):
    OWNED = "owned", _("Owned")
    SOLD = "sold", _("Sold")
    SCRAPPED = "scrapped", _("Scrapped")


class Vehicle(TenantOwned, TimeStamped):
    customer = models.ForeignKey(
        Customer, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="vehicles"
    )
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    maker = models.CharField(_("maker"), max_length=50)
    model_name = models.CharField(_("model"), max_length=80)
    grade = models.CharField(_("grade"), max_length=80, blank=True)
    model_year = models.PositiveSmallIntegerField(
        _("model year"), null=True, blank=True, validators=[MinValueValidator(1950), MaxValueValidator(2100)]
    )
    plate_number = models.CharField(
        _("plate number"), max_length=40, blank=True, validators=[plate_validator]
    )  # 登録番号
    vin = models.CharField(_("chassis number"), max_length=30, blank=True)  # 車台番号
    first_registration = models.DateField(_("first registration"), null=True, blank=True)
    inspection_expiry = models.DateField(_("inspection expiry"), null=True, blank=True)  # 車検満了日
    mileage = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=VehicleStatus.choices, default=VehicleStatus.OWNED
    )

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        constraints = [_external_ref_unique("vehicle")]
        indexes = [
            models.Index(fields=["tenant", "inspection_expiry"], name="vehicle_tenant_expiry"),
            # Owned cars only: Today's 車検 card, the vehicle list and the customer list sorted by 車検.
            models.Index(
                fields=["tenant", "inspection_expiry", "customer"],
                condition=Q(status="owned"),
                name="vehicle_owned_expiry",
            ),
            models.Index(
                fields=["tenant", "customer", "inspection_expiry", "id"],
                condition=Q(status="owned"),
                name="vehicle_owned_customer",
            ),
            models.Index(fields=["tenant", "customer"], name="vehicle_tenant_customer"),
            models.Index(fields=["tenant", "plate_number"], name="vehicle_tenant_plate"),
            models.Index(fields=["tenant", "updated_at", "id"], name="vehicle_tenant_updated"),
        ]

    def __str__(self):
        label = f"{self.maker} {self.model_name}"
        return f"{label} ({self.plate_number})" if self.plate_number else label

    def clean(self):
        if self.customer_id:
            _same_tenant(self, self.customer, "customer")


class PurchaseCategory(TenantOwned):
    """Purchase categories are the tenant's own list; these codes are created for every new tenant."""

    DEFAULTS = [
        ("new_car", _("New car")),
        ("used_car", _("Used car")),
        ("parts", _("Parts")),
        ("accessories", _("Accessories")),
        ("insurance", _("Insurance")),
        ("service", _("Service")),
        ("other", _("Other")),
    ]
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("purchase category")
        verbose_name_plural = _("purchase categories")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="purchasecategory_unique_code")
        ]
        ordering = ["id"]

    def __str__(self):
        return self.name


class Purchase(TenantOwned, TimeStamped):
    """A sale to a customer. Amounts are whole yen. A refund is its own row with a negative amount."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="purchases"
    )
    vehicle = models.ForeignKey(
        Vehicle,
        verbose_name=_("vehicle"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="purchases",
    )
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    date = models.DateField(_("date"))
    category = models.ForeignKey(
        PurchaseCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.BigIntegerField(_("amount (JPY)"))
    gross_profit = models.BigIntegerField(_("gross profit (JPY)"), default=0)
    is_refund = models.BooleanField(_("refund"), default=False)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            _external_ref_unique("purchase"),
            models.CheckConstraint(
                condition=Q(is_refund=True, amount__lte=0) | Q(is_refund=False, amount__gte=0),
                name="purchase_amount_sign_matches_refund",
                violation_error_message=_("A purchase amount cannot be negative; record a refund instead."),
            ),
        ]
        indexes = [
            # Covering: the analytics refresh reads a tenant's purchases in customer order from the index
            # alone (index-only scan, no heap visit, no hash of a million rows); PostgreSQL only.
            models.Index(
                fields=["tenant", "customer", "date"],
                include=["amount", "gross_profit", "is_refund"],
                name="purchase_tenant_cust_date_cov",
            ),
            models.Index(fields=["tenant", "date"], name="purchase_tenant_date"),
            models.Index(fields=["tenant", "updated_at", "id"], name="purchase_tenant_updated"),
        ]

    def __str__(self):
        return f"{self.date} {self.category_id} ¥{self.amount:,}"

    def clean(self):
        errors = {}
        if self.amount is not None:
            if not self.is_refund and self.amount < 0:
                errors["amount"] = _("A purchase amount cannot be negative; record a refund instead.")
            if self.is_refund and self.amount > 0:
                errors["amount"] = _("A refund is entered as a negative amount.")
        if errors:
            raise ValidationError(errors)
        if self.customer_id:
            _same_tenant(self, self.customer, "customer")
        if self.category_id:
            _same_tenant(self, self.category, "category")
        if self.vehicle_id:
            _same_tenant(self, self.vehicle, "vehicle")
            if self.customer_id and self.vehicle.customer_id != self.customer_id:
                raise ValidationError({"vehicle": _("This vehicle belongs to another customer.")})


class ServiceKind(models.TextChoices):
    SHAKEN = "shaken", _("Statutory inspection (車検)")
    CHECK_12M = "check_12m", _("12-month legal check")
    CHECK_6M = "check_6m", _("6-month check")
    OIL_CHANGE = "oil_change", _("Oil change")
    TYRE_CHANGE = "tyre_change", _("Tyre change")
    REPAIR = "repair", _("Repair")
    BODYWORK = "bodywork", _("Bodywork")
    OTHER = "other", _("Other")


# Months until the next one is due, for kinds that recur. 車検 is every 2 years for private cars.
SERVICE_INTERVAL_MONTHS = {
    ServiceKind.SHAKEN: 24,
    ServiceKind.CHECK_12M: 12,
    ServiceKind.CHECK_6M: 6,
    ServiceKind.OIL_CHANGE: 6,
}


class ServiceRecord(TenantOwned, TimeStamped):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="services"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="services"
    )
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=ServiceKind.choices)
    amount = models.BigIntegerField(_("amount (JPY)"), default=0, validators=[MinValueValidator(0)])
    gross_profit = models.BigIntegerField(_("gross profit (JPY)"), default=0)
    mileage = models.PositiveIntegerField(_("mileage at service (km)"), null=True, blank=True)
    next_due = models.DateField(_("next due"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("service record")
        verbose_name_plural = _("service records")
        constraints = [
            _external_ref_unique("servicerecord"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="servicerecord_amount_not_negative"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "customer", "date"],
                include=["amount", "gross_profit"],
                name="service_tenant_cust_date_cov",
            ),
            models.Index(fields=["tenant", "vehicle", "kind", "date"], name="service_tenant_vehicle_kind"),
            # Today's "check-ups due" card: next legal check per kind.
            models.Index(fields=["tenant", "kind", "next_due"], name="service_tenant_kind_next_due"),
            models.Index(fields=["tenant", "date"], name="service_tenant_date"),
            models.Index(fields=["tenant", "updated_at", "id"], name="service_tenant_updated"),
        ]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()}"

    def clean(self):
        if self.customer_id:
            _same_tenant(self, self.customer, "customer")
        if self.vehicle_id:
            _same_tenant(self, self.vehicle, "vehicle")
            if self.customer_id and self.vehicle.customer_id != self.customer_id:
                raise ValidationError({"vehicle": _("This vehicle belongs to another customer.")})


class Handover(TenantOwned):
    """The record of one handover: a leaving staff member's customers and open deals moved to another."""

    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    performed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    customers_moved = models.PositiveIntegerField(default=0)
    deals_moved = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        indexes = [models.Index(fields=["tenant", "created_at"], name="handover_tenant_created")]


# --- CSV imports (owned by the API work) ----------------------------------------------------------
class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    VEHICLES = "vehicles", _("Vehicles")
    PURCHASES = "purchases", _("Purchases")
    SERVICE_RECORDS = "service_records", _("Service records")


def _import_upload_path(job: "ImportJob", filename: str) -> str:
    return f"imports/{job.tenant_id}/{timezone.now():%Y%m%d-%H%M%S}-{filename}"


class ImportJob(TenantOwned):
    """One uploaded CSV and its import, run in the background so long files show progress."""

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    file = models.FileField(_("file"), upload_to=_import_upload_path, max_length=300)
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    rows_estimated = models.PositiveIntegerField(_("rows (estimated)"), default=0)
    rows_processed = models.PositiveIntegerField(_("rows processed"), default=0)
    report = models.JSONField(_("report"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["tenant", "created_at"], name="importjob_tenant_created")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"
