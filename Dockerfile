# The bot's image: Python 3.11 with the project installed (docker-compose.yml runs it).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN python -m pip install --no-cache-dir . \
    && useradd --system --home-dir /app hienmau \
    && mkdir -p /app/data && chown hienmau /app/data
USER hienmau
EXPOSE 8080
CMD ["python", "bot.py"]
