# Shiftgate: wire-protocol proxy for zero-downtime schema migrations.
# Build: docker build -t shiftgate .
# Run:   docker run -p 6432:6432 -p 9187:9187 shiftgate serve --upstream postgres://app@db:5432/appdb \
#          --listen 0.0.0.0:6432 --http 0.0.0.0:9187

# Stage 1: install every dependency, check and compile the sources once, then drop the dev dependencies
# (tsx, TypeScript, the embedded PostgreSQL of the two-command demo).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json biome.json ./
COPY bin ./bin
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run lint && npm run typecheck && npm run build && npm prune --omit=dev

# Stage 2: the compiled JavaScript and production dependencies only, as an unprivileged user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
USER node
EXPOSE 6432 6033 9187
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9187/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/shiftgate.js"]
CMD ["serve", "--listen", "0.0.0.0:6432", "--http", "0.0.0.0:9187"]
