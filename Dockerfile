# wirewatch in a container: the daemon (`wirewatch run`, the default command) or the browser
# desk (`wirewatch serve`), installed with `pip install .` and no development tools.
# compose.yaml runs the two on one volume; see "In a container" in README.md.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The source, only what the package is built from (.dockerignore keeps the rest out).
WORKDIR /opt/wirewatch/src
COPY pyproject.toml README.md ./
COPY .ci/constraints.txt .ci/constraints.txt
COPY monitor monitor
COPY crawler crawler
RUN pip install --no-cache-dir -c .ci/constraints.txt .

# The service user owns the state (the volume) and the language model's cache, nothing else.
RUN groupadd --system --gid 10001 wirewatch \
    && useradd --system --uid 10001 --gid wirewatch --home-dir /var/lib/wirewatch \
        --shell /usr/sbin/nologin wirewatch \
    && mkdir -p /var/lib/wirewatch /var/cache/wirewatch /etc/wirewatch \
    && chown wirewatch:wirewatch /var/lib/wirewatch /var/cache/wirewatch

# The config the image ships: the repository's, with the archive in the volume. A relative
# archive: is taken next to the config file, in /etc/wirewatch, which the service cannot
# write; a config mounted in its place must name the archive by this full path too.
COPY config.yaml /etc/wirewatch/config.yaml
RUN sed -i 's|^archive: .*|archive: /var/lib/wirewatch/wirewatch.db|' /etc/wirewatch/config.yaml

ENV WIREWATCH_CONFIG=/etc/wirewatch/config.yaml \
    XDG_CACHE_HOME=/var/cache/wirewatch
VOLUME /var/lib/wirewatch
WORKDIR /var/lib/wirewatch
USER 10001:10001
EXPOSE 8001
ENTRYPOINT ["wirewatch"]
CMD ["run", "--log-format", "json"]
