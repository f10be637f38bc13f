# syntax=docker/dockerfile:1
# The Vigil collector as a container. Built from this repository and installed from the
# packages it packs, exactly as `npm install @vigil-risk/collector` installs them
# (test/e2e/packages.test.ts checks that install); runs as a non-root user, keeps its keys,
# sites.json and SQLite file in the /data volume, and reports health to Docker.
#
#   docker build -t vigil-collector .
#   docker run -p 8080:8080 -v vigil-data:/data vigil-collector --demo
#
# deploy/compose.yaml runs two of them behind nginx, on Redis, with Prometheus.

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source where no prebuilt binary can be downloaded.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY sdk/package.json sdk/
COPY verify/package.json verify/
COPY collector-server/package.json collector-server/
# Building needs no install scripts (rollup and esbuild only); the runtime install below runs them.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm pack -w sdk -w collector-server --pack-destination /tmp/packages \
 && mkdir /app && cd /app \
 && echo '{ "name": "vigil-collector-image", "private": true }' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/packages/*.tgz

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    VIGIL_DATA_DIR=/data \
    PATH=/app/node_modules/.bin:$PATH
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
# The node image's unprivileged user (uid 1000).
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["vigil-collector"]
