# Image for docker-compose.yml: web (python -m ticketing.serve: uvicorn workers), worker and beat share it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DEBUG=false SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-000 python manage.py collectstatic --noinput
RUN useradd --create-home turnstile
USER turnstile
EXPOSE 8000
ENV HOST=0.0.0.0 PORT=8000
# The same server and topology as `make run` (WEB_WORKERS processes, one per core by default).
CMD ["python", "-m", "ticketing.serve"]
