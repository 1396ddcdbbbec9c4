# One image for the api, consumer and scheduler services (scale-out mode).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY liveboard ./liveboard
COPY backend ./backend
COPY consumers ./consumers
COPY schemas ./schemas
COPY scheduler ./scheduler
COPY miniprogram_api ./miniprogram_api
COPY eventlog ./eventlog
COPY analytics ./analytics
COPY domain ./domain
COPY configstore ./configstore
COPY wechat ./wechat
RUN pip install . && useradd --system --uid 10001 liveboard
USER liveboard
EXPOSE 8000
CMD ["liveboard", "serve", "--host", "0.0.0.0", "--port", "8000"]
