# Runboard image: one image, two entry points (server and worker); see docker-compose.yml.
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

# The code stays owned by root and read-only for the process; tsx keeps its cache in /tmp.
USER node
EXPOSE 3000

# Exactly what `npm run server` runs, without npm and /bin/sh in between: those do not pass SIGTERM on,
# so `docker stop` would kill the process instead of letting it drain. The worker overrides the command.
CMD ["node", "--import", "tsx", "server/main.ts"]
