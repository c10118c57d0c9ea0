"""Dashboard pages of print batches (Reminders → Postcards): list and build, detail, PDF, post, cancel."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.tenancy.permissions import tenant_view
from crm.tenancy.roles import POST_POSTCARDS, PRINT_POSTCARDS
from reminders.postcards import selectors, services
from reminders.postcards.forms import MarkPostedForm
from reminders.postcards.render import render_labels, render_postcards

PDF_KINDS = {"cards", "labels-12", "labels-24"}


@tenant_view(read=PRINT_POSTCARDS, write=PRINT_POSTCARDS)
def batch_list(request):
    """The shop's print batches, and "build a batch now" with the number of reminders it would take."""
    today = services.local_today(request.tenant)
    if request.method == "POST":
        batch = services.print_batch_create(tenant=request.tenant, created_by=request.user, due_until=today)
        if batch is None:
            messages.info(request, _("There are no postcards to print."))
            return redirect("reminders:postcards")
        messages.success(request, _("Print batch created."))
        return redirect("reminders:postcard_batch", pk=batch.pk)
    return render(
        request,
        "reminders/postcards/list.html",
        {
            "batches": selectors.print_batch_list(tenant=request.tenant)[:100],
            "waiting": selectors.print_batch_preview_count(tenant=request.tenant, due_until=today),
            "today": today,
        },
    )


@tenant_view(read=PRINT_POSTCARDS, write=POST_POSTCARDS)
def batch_detail(request, pk: int):
    batch = selectors.print_batch_get(tenant=request.tenant, pk=pk)
    document = selectors.print_batch_document(tenant=request.tenant, batch=batch)
    return render(
        request,
        "reminders/postcards/detail.html",
        {
            "batch": batch,
            "problems": selectors.print_batch_problems(tenant=request.tenant, batch=batch),
            "left_out": document.left_out,
            "printable": len(document.cards),
            "is_open": batch.status in services.OPEN_STATUSES,
            "can_post": request.membership.has_role(POST_POSTCARDS),
            "form": MarkPostedForm(),
        },
    )


@tenant_view(read=PRINT_POSTCARDS)
def batch_pdf(request, pk: int, kind: str):
    """The batch as PDF: cards (vertical or horizontal address, duplex or address side only) or labels."""
    if kind not in PDF_KINDS:
        raise Http404
    batch = selectors.print_batch_get(tenant=request.tenant, pk=pk)
    cards = selectors.print_batch_document(tenant=request.tenant, batch=batch).cards
    if not cards:
        messages.info(request, _("There are no postcards to print."))
        return redirect("reminders:postcard_batch", pk=batch.pk)
    if kind == "cards":
        pdf = render_postcards(
            cards,
            vertical=request.GET.get("layout", "vertical") != "horizontal",
            sides="address" if request.GET.get("sides") == "address" else "both",
            draw_boxes=request.GET.get("boxes") != "0",
        )
    else:
        pdf = render_labels(cards, per_sheet=int(kind.removeprefix("labels-")))
    if batch.status in services.OPEN_STATUSES:
        services.print_batch_mark_printed(tenant=request.tenant, batch=batch)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="postcards-{batch.pk}-{kind}.pdf"'
    return response


@require_POST
@tenant_view(read=POST_POSTCARDS, write=POST_POSTCARDS)
def batch_post(request, pk: int):
    batch = selectors.print_batch_get(tenant=request.tenant, pk=pk)
    form = MarkPostedForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm that the cards are in the post."))
        return redirect("reminders:postcard_batch", pk=batch.pk)
    try:
        sent = services.print_batch_mark_posted(tenant=request.tenant, batch=batch, by=request.user)
    except services.PrintBatchNotOpen as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Marked as posted: %(n)s reminders sent.") % {"n": sent})
    return redirect("reminders:postcard_batch", pk=batch.pk)


@require_POST
@tenant_view(read=POST_POSTCARDS, write=POST_POSTCARDS)
def batch_cancel(request, pk: int):
    batch = selectors.print_batch_get(tenant=request.tenant, pk=pk)
    try:
        services.print_batch_cancel(tenant=request.tenant, batch=batch)
    except services.PrintBatchNotOpen as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Batch cancelled: its reminders go into the next batch."))
    return redirect("reminders:postcard_batch", pk=batch.pk)
