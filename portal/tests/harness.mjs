// Test harness: starts the REAL handler binary in local dev mode on a free port with a fresh
// SQLite store, serving the built portal at /portal/, and a headless Debian Chromium driven by
// playwright-core (no browser downloads).
//
// Settings (environment):
//   HANDLER_BIN        the handler binary (default: <repo>/target/debug/handler)
//   PORTAL_DIST        the built portal (default: portal/dist)
//   CHROMIUM_PATH      the browser (default: /usr/bin/chromium)
//   TEST_LOG           "1": show the handler's log

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync, rmSync } from "node:fs";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const portalDir = resolve(here, "..");
export const repoDir = resolve(portalDir, "..");
export const artifacts = resolve(repoDir, "test-artifacts", "portal");

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = netServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitFor(url, child, ms = 30_000) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the handler exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer in time: ${last}`);
}

/** Starts the handler serving the portal at /portal/ (`env`: extra settings); returns
 * `{ base, apiBase, stop }`. */
export async function startServer(env = {}) {
  const bin = process.env.HANDLER_BIN ?? join(repoDir, "target", "debug", "handler");
  if (!existsSync(bin)) throw new Error(`handler binary not found at ${bin}: run cargo build -p mfa-handler (or set HANDLER_BIN)`);
  const dist = resolve(process.env.PORTAL_DIST ?? join(portalDir, "dist"));
  if (!existsSync(join(dist, "index.html"))) throw new Error(`no built portal in ${dist}: run npm run build`);
  const work = mkdtempSync(join(tmpdir(), "portal-test-"));
  const port = await freePort();
  const child = spawn(bin, [], {
    cwd: work,
    env: {
      ...process.env,
      FUNCTIONS_CUSTOMHANDLER_PORT: String(port),
      MFA_STORE: `sqlite:${join(work, "db")}`,
      MFA_ADMIN_AUTH: "dev",
      MFA_PORTAL_DIR: dist,
      MFA_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      ...env,
    },
    stdio: ["ignore", process.env.TEST_LOG ? "inherit" : "ignore", process.env.TEST_LOG ? "inherit" : "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  try {
    await waitFor(`http://127.0.0.1:${port}/`, child);
  } catch (e) {
    child.kill();
    throw new Error(`${e.message}\n${stderr}`);
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    apiBase: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Launches Debian's Chromium headless with a fresh profile (a new --user-data-dir). */
export async function startBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "portal-chromium-"));
  // A persistent context is how playwright takes a fresh --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async stop() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-artifacts/portal/. */
export async function shot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}
