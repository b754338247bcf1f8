#!/usr/bin/env bash
# Portal checks: installs the pinned npm packages, type-checks and builds, checks that the
# committed dist/ matches the build, then runs the browser tests against the real handler in
# local dev mode (builds it with cargo unless HANDLER_BIN is set). Needs Node.js 20+ and Debian's
# chromium (apt-get install -y chromium); never downloads a browser.
set -euo pipefail
portal="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$portal/.." && pwd)"
cd "$portal"

echo "== portal: npm ci"
npm ci --no-audit --no-fund

echo "== portal: build (tsc + vite)"
npm run build

echo "== portal: committed dist/ matches the build"
npm run check-dist

if [ -z "${HANDLER_BIN:-}" ]; then
  echo "== portal: cargo build -p mfa-handler"
  (cd "$repo" && cargo build -p mfa-handler --locked)
  export HANDLER_BIN="$repo/target/debug/handler"
fi

echo "== portal: browser tests (screenshots in test-artifacts/portal/)"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "chromium not found at $CHROMIUM_PATH: apt-get install -y chromium" >&2
  exit 1
fi
npm test
