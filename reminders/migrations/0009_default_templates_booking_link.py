"""The default reminder templates of 車検, 12-month and 6-month checks and the tyre season gained the
booking link (`{{ booking_url }}`) when online booking came; shops created before kept the old text.

This gives those shops the current default ONLY where a template's body is still exactly a default
shipped before (the latest old text first, then the one before the staff-name fallback); a body the
shop has changed in any way is left alone. Going back restores the latest old default where the body
is exactly the current one.

PostgreSQL: the templates are under row-level security (forced for the owner too), so each shop's
rows are updated with that shop as the database tenant, one UPDATE per shop.
"""

from django.db import migrations
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Now

# (current default body, (old default bodies, latest first)): literal copies, so that later edits of
# reminders.services.DEFAULT_TEMPLATES do not change what this migration does.
DEFAULT_BODIES = [
    # inspection, ja
    (
        '{{ customer_name }}\n\nいつも{{ shop_name }}をご利用いただきありがとうございます。\n{{ vehicle }}（{{ plate_number }}）の車検満了日は {{ inspection_expiry }} です。\nご予約はこちらから24時間承ります：\n{{ booking_url }}\nお電話・ご来店でも承ります。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
        (
            '{{ customer_name }}\n\nいつも{{ shop_name }}をご利用いただきありがとうございます。\n{{ vehicle }}（{{ plate_number }}）の車検満了日は {{ inspection_expiry }} です。\nご予約はお電話またはご来店にて承ります。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
            '{{ customer_name }}\n\nいつも{{ shop_name }}をご利用いただきありがとうございます。\n{{ vehicle }}（{{ plate_number }}）の車検満了日は {{ inspection_expiry }} です。\nご予約はお電話またはご来店にて承ります。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name }}',
        ),
    ),
    # inspection, en
    (
        'Dear {{ customer_name }},\n\nThe inspection of your {{ vehicle }} ({{ plate_number }}) expires on {{ inspection_expiry }}. Book your inspection online at any time:\n{{ booking_url }}\nor by phone or at the shop.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
        (
            'Dear {{ customer_name }},\n\nThe inspection of your {{ vehicle }} ({{ plate_number }}) expires on {{ inspection_expiry }}. Book your inspection with us by phone or visit.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
            'Dear {{ customer_name }},\n\nThe inspection of your {{ vehicle }} ({{ plate_number }}) expires on {{ inspection_expiry }}. Book your inspection with us by phone or visit.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name }}',
        ),
    ),
    # check_12m, ja
    (
        '{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の法定12ヶ月点検の時期（{{ due_date }}頃）が近づいています。\nご予約はこちらから：\n{{ booking_url }}\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
        (
            '{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の法定12ヶ月点検の時期（{{ due_date }}頃）が近づいています。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
            '{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の法定12ヶ月点検の時期（{{ due_date }}頃）が近づいています。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name }}',
        ),
    ),
    # check_12m, en
    (
        'Dear {{ customer_name }},\n\nYour {{ vehicle }} ({{ plate_number }}) is due for its 12-month legal check around {{ due_date }}.\nBook online: {{ booking_url }}\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
        (
            'Dear {{ customer_name }},\n\nYour {{ vehicle }} ({{ plate_number }}) is due for its 12-month legal check around {{ due_date }}.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
            'Dear {{ customer_name }},\n\nYour {{ vehicle }} ({{ plate_number }}) is due for its 12-month legal check around {{ due_date }}.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name }}',
        ),
    ),
    # check_6m, ja
    (
        '{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の6ヶ月点検の時期が近づいています。\nご予約はこちらから：\n{{ booking_url }}\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
        (
            '{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の6ヶ月点検の時期が近づいています。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
            '{{ customer_name }}\n\n{{ vehicle }}（{{ plate_number }}）の6ヶ月点検の時期が近づいています。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name }}',
        ),
    ),
    # check_6m, en
    (
        'Dear {{ customer_name }},\n\nYour {{ vehicle }} ({{ plate_number }}) is due for its 6-month check.\nBook online: {{ booking_url }}\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
        (
            'Dear {{ customer_name }},\n\nYour {{ vehicle }} ({{ plate_number }}) is due for its 6-month check.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
            'Dear {{ customer_name }},\n\nYour {{ vehicle }} ({{ plate_number }}) is due for its 6-month check.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name }}',
        ),
    ),
    # seasonal, ja
    (
        '{{ customer_name }}\n\nタイヤ交換の季節になりました。\n{{ shop_name }}ではご予約を承っております：\n{{ booking_url }}\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
        (
            '{{ customer_name }}\n\nタイヤ交換の季節になりました。\n{{ shop_name }}ではご予約を承っております。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name|default(shop_name, true) }}',
            '{{ customer_name }}\n\nタイヤ交換の季節になりました。\n{{ shop_name }}ではご予約を承っております。\n\nご不明な点は {{ shop_name }}（{{ shop_phone }}）までお気軽にお問い合わせください。\n担当：{{ staff_name }}',
        ),
    ),
    # seasonal, en
    (
        'Dear {{ customer_name }},\n\nIt is tyre-change season. Book your slot at {{ shop_name }}: {{ booking_url }}\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
        (
            'Dear {{ customer_name }},\n\nIt is tyre-change season. Book your slot at {{ shop_name }}.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name|default(shop_name, true) }}',
            'Dear {{ customer_name }},\n\nIt is tyre-change season. Book your slot at {{ shop_name }}.\n\nAny questions? Call {{ shop_name }} on {{ shop_phone }}.\nYour contact: {{ staff_name }}',
        ),
    ),
]


def _update(apps, schema_editor, pairs):
    Tenant = apps.get_model("crm", "Tenant")
    Template = apps.get_model("reminders", "ReminderTemplate")
    connection = schema_editor.connection
    alias = connection.alias
    cases = [When(body=old, then=Value(new, output_field=TextField())) for old, new in pairs]
    olds = [old for old, _new in pairs]

    def run(rows):
        rows.filter(body__in=olds).update(body=Case(*cases, default=F("body")), updated_at=Now())

    # The plain manager: this is deliberate work across every shop (the tenancy guard's escape hatch).
    if connection.vendor != "postgresql":
        run(Template._base_manager.using(alias).all())
        return
    with connection.cursor() as cursor:
        for tenant_id in Tenant.objects.using(alias).values_list("id", flat=True):
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            run(Template._base_manager.using(alias).filter(tenant_id=tenant_id))
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


def add_booking_links(apps, schema_editor):
    _update(apps, schema_editor, [(old, new) for new, olds in DEFAULT_BODIES for old in olds])


def remove_booking_links(apps, schema_editor):
    _update(apps, schema_editor, [(new, olds[0]) for new, olds in DEFAULT_BODIES])


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("reminders", "0008_campaign_settings"),
    ]

    operations = [migrations.RunPython(add_booking_links, remove_booking_links)]
