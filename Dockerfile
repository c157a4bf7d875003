# syntax=docker/dockerfile:1
# One image per service: docker build --build-arg SERVICE=gateway -t strata-gateway .
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build stage for
# code: the first stage installs only the service's production dependencies, the second is a slim
# runtime with nothing else, run as a non-root user.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
ARG SERVICE
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
# `npm ci`: exactly the lockfile's versions, and only the service's production dependencies.
RUN test -n "${SERVICE}" \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace "services/${SERVICE}" \
 && npm cache clean --force \
 && rm -rf services/*/src/*.test.ts packages/*/src/*.test.ts packages/*/src/testing services/*/src/testing

FROM ${NODE_IMAGE}
ARG SERVICE
ENV NODE_ENV=production \
    STRATA_HOST=0.0.0.0 \
    STRATA_SERVICE=${SERVICE}
WORKDIR /app
COPY --from=deps --chown=root:root /app /app
# Non-root, no shell needs, no writes: runs with a read-only root filesystem.
USER 10001:10001
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c", "exec node \"services/${STRATA_SERVICE}/src/main.ts\""]
