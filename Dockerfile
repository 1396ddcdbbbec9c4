# One image for every process of the scale-out mode (api, writer, scheduler, migrate).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# The award certificates embed AR PL UKai (楷体) and fall back to WenQuanYi Micro Hei (services/certificates.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-arphic-ukai fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The whole tree (.dockerignore leaves out tests, tools' outputs and local data): every package
# pyproject.toml lists is there, whichever was added last.
COPY . .
RUN pip install . && useradd --system --uid 10001 liveboard
USER liveboard
EXPOSE 8000
CMD ["liveboard", "serve", "--host", "0.0.0.0", "--port", "8000"]
