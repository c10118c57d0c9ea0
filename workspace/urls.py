"""Routes of the workspace pages, mounted by crm/urls.py inside the namespaces users see them in.

URL names follow the page a user is on, not the layer that implements it: Customer 360 is
`customers:detail` next to the customer list (customers/urls.py), Today is `today` next to the deals
board (interactions/urls.py). crm/urls.py puts each list below into its namespace.
"""

from django.urls import path

from workspace.views import customer_360, today

customer_patterns = [
    path("<int:pk>/", customer_360.customer_detail, name="detail"),
    path("<int:pk>/consent/", customer_360.customer_consent, name="consent"),
    path("<int:pk>/log/", customer_360.customer_log_interaction, name="log_interaction"),
    path("<int:pk>/service/", customer_360.customer_add_service, name="add_service"),
    path("<int:pk>/follow-up/", customer_360.customer_schedule_followup, name="follow_up"),
]

root_patterns = [
    path("", today.today, name="today"),
]
