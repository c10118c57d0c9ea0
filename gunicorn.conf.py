"""Gunicorn settings read automatically from the working directory (the Docker image's /app).

Access log lines leave out the query string and the referrer: a search for a customer's e-mail
address or phone number (`/customers/?q=...`) must not end up in the logs (personal data, APPI).
"""

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'
