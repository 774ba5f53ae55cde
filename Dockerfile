# NETcare application image: the web server, the Celery worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 10001 netcare
COPY pyproject.toml README.md ./
COPY netcare ./netcare
COPY patients ./patients
COPY prrt ./prrt
COPY referrals ./referrals
COPY coordinators ./coordinators
COPY templates ./templates
COPY manage.py ./
RUN pip install . && DEBUG=1 python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R netcare /app/var

USER netcare
EXPOSE 8000
CMD ["gunicorn", "netcare.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
