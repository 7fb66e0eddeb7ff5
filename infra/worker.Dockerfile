# The media worker image: one container per LiveKit room (ECS task, or a process under the local launcher).
# Build from the repo root: docker build -f infra/worker.Dockerfile -t voice-agent-worker .

# The end-of-turn model (Smart Turn v3.2, 8.7 MB, BSD-2-Clause) is no npm package: the same pinned, sha256-checked
# fetch as `npm run setup`, from the pipecat-ai wheel on PyPI, in a stage of its own (python and pip stay out of the
# image). Not copied from .tools/ in the build context: that folder is a git-ignored set-up cache (a symlink in
# worktrees), which a build context does not follow.
FROM python:3.12-slim AS turn-model
WORKDIR /src
COPY scripts/fetch-turn-model.sh scripts/fetch-turn-model.sh
RUN bash scripts/fetch-turn-model.sh

FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so code changes do not reinstall them. The onnxruntime postinstall would fetch GPU
# providers the worker never uses on Fargate.
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Node 24 runs the TypeScript sources directly; the worker needs only itself and the shared contract.
COPY functions/contract.ts functions/contract.ts
COPY worker/ worker/
# Where worker/end-of-turn/ looks for it (DEFAULT_TURN_MODEL_PATH: .tools/models/smart-turn/ beside worker/). Without
# it the worker would still run, on the transcript rule alone, with one warning.
COPY --from=turn-model /src/.tools/models/smart-turn/ .tools/models/smart-turn/

# Root owns the files (read-only to the worker); the process runs as the image's unprivileged user.
USER node

# The worker's own health endpoint (GET /health). Node has fetch built in: no curl in a slim image needed.
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8081/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# ECS StopTask and the local launcher send SIGTERM first; node is PID 1 here, so the worker handles it itself.
STOPSIGNAL SIGTERM
CMD ["node", "worker/main.ts"]
