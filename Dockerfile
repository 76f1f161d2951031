# Qiao (桥) gateway image: `docker build -t qiao:0.1.0 .`
# One image runs every Qiao process: the gateway (`serve`, the default), the legacy-system simulators
# (`simulate housing|drc|market`), `catalog check`, `audit …` and `token`. See README "Deployment".

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------------------
# Build: TypeScript → dist/ with every dependency (tsc is a devDependency).
FROM ${NODE_IMAGE} AS build
# better-sqlite3 (the embedded state store) is a native addon, compiled when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY kernel/ kernel/
COPY gateway/ gateway/
COPY connectors/ connectors/
# tsconfig.build.json → dist/, including the JSON data the code imports (kernel/data/*.json).
RUN npm run build

# ---------------------------------------------------------------------------------------------------------------
# Runtime: production dependencies only, the build, and the files the gateway reads at run time.
FROM ${NODE_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="qiao" \
      org.opencontainers.image.description="Qiao (桥): data-sharing exchange gateway between government departments' systems" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:20-bookworm-slim"

WORKDIR /app
COPY package.json package-lock.json ./
# The toolchain for better-sqlite3 lives only within this one layer: installed, used, removed.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && apt-get purge -y --auto-remove python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist ./dist
# The catalog's schema is found by walking up from dist/gateway/catalog/ to schemas/catalog.schema.json; the
# resource schemas are read relative to the catalog file.
COPY schemas/ ./schemas/
COPY catalog.yaml ./catalog.yaml
COPY deploy/healthcheck.mjs deploy/init-keys.mjs ./deploy/

# Application files stay root-owned (read-only to the gateway); only the data directory is writable, by `node`
# (uid 1000, from the base image). A named volume mounted here starts out owned by that user.
RUN mkdir -p /var/lib/qiao && chown node:node /var/lib/qiao && chmod 0700 /var/lib/qiao
VOLUME ["/var/lib/qiao"]

ENV QIAO_HOST=0.0.0.0 \
    QIAO_PORT=8080 \
    QIAO_CATALOG=/app/catalog.yaml \
    QIAO_DATA_DIR=/var/lib/qiao

USER node
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.mjs"]

ENTRYPOINT ["node", "dist/gateway/cli.js"]
CMD ["serve"]
