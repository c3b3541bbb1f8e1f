# Runboard image: one image, two entry points (server and worker); see docker-compose.yml.

# Build stage: the dashboard (SvelteKit, adapter-node) needs the dev tools (vite, svelte, kit); none of them
# ship. Its output, dashboard/build, is what the server mounts on the same origin (server/http/dashboard.ts).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY dashboard ./dashboard
# The dashboard imports the live channel's types from the server (type-only; they are read, not bundled).
COPY server ./server
COPY db ./db
RUN npm run build

FROM node:22-bookworm-slim

ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app

# Dependencies first, so source changes reuse this layer. Dev tools (tests, lint, the `node` package that
# pins Node for `npm run` on developer machines) are not needed at run time: this image has Node 22.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Only what runs (explicit paths: no node_modules, .git or .data from the build context).
COPY tsconfig.json ./
COPY db ./db
COPY server ./server
COPY worker ./worker
COPY scripts ./scripts
# The built dashboard only: its bundle needs nothing beyond the runtime dependencies installed above.
COPY --from=build /app/dashboard/build ./dashboard/build

# The code stays owned by root and read-only for the process; tsx keeps its cache in /tmp.
USER node
EXPOSE 3000

# Exactly what `npm run server` runs, without npm and /bin/sh in between: those do not pass SIGTERM on,
# so `docker stop` would kill the process instead of letting it drain. The worker overrides the command.
CMD ["node", "--import", "tsx", "server/main.ts"]
