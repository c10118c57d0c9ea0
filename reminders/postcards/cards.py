"""From reminder rows to `render.Postcard` values: the address checks and the message side's text.

The one place that decides whether a customer can get a postcard (`address_problem`,
`refused_customer_ids`), used when a batch is built and again whenever it is printed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.utils.translation import gettext_noop

from channels.models import ChannelConsent, ConsentStatus, MessageChannel
from crm.models import Tenant
from customers.models import Customer
from reminders.models import Reminder
from reminders.postcards.render import (
    Postcard,
    Sender,
    check_fits,
    postal_digits,
)
from reminders.sending.message import pick_template, template_context
from reminders.templating import render_email

# Problems are stored in English and translated on the page (gettext_noop marks them for makemessages).
NO_POSTAL_CODE = gettext_noop("no postal code")
BAD_POSTAL_CODE = gettext_noop("postal code is not 7 digits")
NO_ADDRESS = gettext_noop("no address")
MESSAGE_TOO_LONG = gettext_noop("message too long for a postcard")
ADDRESS_TOO_LONG = gettext_noop("address or name too long for a postcard")
REFUSED = gettext_noop("refused postcards")
TEMPLATE_ERROR = gettext_noop("template error")

_LEADING_POSTAL = re.compile(r"^\s*(?:〒\s*)?(\d{3})\s*[-‐－ー]?\s*(\d{4})\s*")


def address_problem(customer: Customer) -> str:
    """Why this customer's postcard cannot be printed ("" when it can): 〒 and address are required."""
    if not (customer.postal_code or "").strip():
        return NO_POSTAL_CODE
    if not postal_digits(customer.postal_code):
        return BAD_POSTAL_CODE
    if not (customer.address or "").strip():
        return NO_ADDRESS
    return ""


def refused_customer_ids(tenant: Tenant | int, customer_ids: Iterable[int]) -> set[int]:
    """Customers of `customer_ids` who must not get a postcard (two queries): erased customers (APPI)
    and those with a recorded postcard refusal (channels' `ChannelConsent`, opted out). The e-mail
    opt-out on Customer is the e-mail channel's and does not stop postcards.
    """
    ids = set(customer_ids)
    if not ids:
        return set()
    erased = Customer.objects.for_tenant(tenant).filter(pk__in=ids, erased_at__isnull=False)
    refusals = ChannelConsent.objects.for_tenant(tenant).filter(
        customer_id__in=ids, channel=MessageChannel.POSTCARD, status=ConsentStatus.OPTED_OUT
    )
    return set(erased.values_list("pk", flat=True)) | set(refusals.values_list("customer_id", flat=True))


def address_lines(customer: Customer) -> tuple[str, ...]:
    """Prefecture and address as printed (the prefecture is not repeated when the address has it)."""
    prefecture = (customer.prefecture or "").strip()
    address = " ".join((customer.address or "").split())
    if prefecture and not address.startswith(prefecture):
        address = prefecture + address
    return (address,)


def shop_sender(tenant: Tenant) -> Sender:
    """The return address: the shop's name, address (a leading 〒123-4567 goes into the boxes), phone."""
    address = " ".join((tenant.address or "").split())
    postal = ""
    match = _LEADING_POSTAL.match(unicodedata.normalize("NFKC", address))
    if match:
        postal = f"{match.group(1)}-{match.group(2)}"
        address = unicodedata.normalize("NFKC", address)[match.end() :]
    return Sender(name=tenant.name, postal_code=postal, address=address, phone=tenant.phone)


def postcard_for(reminder: Reminder, templates: dict, sender: Sender) -> Postcard:
    """The card of one reminder; raises TemplateRejected, AddressTooLong or MessageTooLong."""
    template = pick_template(reminder, templates)
    rendered = render_email(
        subject=template.subject,
        body=template.body,
        context=template_context(reminder, template.language),
    )
    customer = reminder.customer
    card = Postcard(
        postal_code=customer.postal_code,
        address_lines=address_lines(customer),
        name=customer.full_name,
        sender=sender,
        message_title=rendered.subject,
        message=rendered.body,
    )
    check_fits(card)  # the vertical layout is the tighter of the two
    return card
