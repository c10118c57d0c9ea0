"""The embedded e-mail backend: each message is written as one .eml file into OUTBOX_DIR.

The dashboard's outbox page lists these files, so `make run` shows real reminder e-mails
without an SMTP server. Production sets EMAIL_URL and uses Django's SMTP backend instead.
"""

import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OutboxEmailBackend(BaseEmailBackend):
    def __init__(self, *args, outbox_dir=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.outbox_dir = Path(outbox_dir or settings.OUTBOX_DIR)

    def send_messages(self, email_messages):
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
            tmp = self.outbox_dir / f".{name}.tmp"
            tmp.write_bytes(message.message().as_bytes(linesep="\n"))
            os.replace(tmp, self.outbox_dir / name)  # readers never see half a message
            sent += 1
        return sent
