FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext make nodejs npm fonts-ipaexfont && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crm crm
COPY customers customers
COPY interactions interactions
COPY reminders reminders
COPY analytics analytics
COPY channels channels
COPY bookings bookings
COPY results results
COPY opportunities opportunities
COPY workspace workspace
RUN pip install --no-cache-dir .
COPY . .
RUN npm ci --no-audit --no-fund && make static && python manage.py compilemessages --ignore=node_modules
RUN useradd --system --create-home kizuna && mkdir -p /var/lib/kizuna && chown kizuna /var/lib/kizuna
USER kizuna
EXPOSE 8000
