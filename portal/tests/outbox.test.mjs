// Browser test of the local demo (`handler local`): the simulator's outbox pages and searches
// without loading any email (so no tracking pixel fires); one email opens on its own page.
// Starts the REAL handler in local mode with a small demo organisation.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, repoDir, shot, startBrowser } from "./harness.mjs";

let child;
let work;
let browser;
let outbox;


/** Waits until `handler local` printed its URLs (the outbox's among them). */
function urls(proc, ms = 60_000) {
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`handler local printed no outbox URL:\n${out}`)), ms);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/Outbox \(emails sent\):\s+(\S+)/);
      const p = out.match(/Portal \(dev sign-in\):\s+(\S+)/);
      if (m && p) {
        clearTimeout(timer);
        ok({ outbox: m[1], portal: p[1] });
      }
    });
    proc.on("exit", (code) => fail(new Error(`handler local exited with ${code}:\n${out}`)));
  });
}

async function emailsInOutbox(base) {
  const r = await fetch(base.replace(/\.html$/, ""));
  return (await r.json()).length;
}

before(async () => {
  const bin = process.env.HANDLER_BIN ?? join(repoDir, "target", "debug", "handler");
  work = mkdtempSync(join(tmpdir(), "outbox-test-"));
  const port = await freePort();
  child = spawn(bin, ["local", "--port", String(port), "--people", "60", "--interval-seconds", "1", "--data-dir", join(work, "data")], {
    cwd: work,
    env: { ...process.env, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", process.env.TEST_LOG ? "inherit" : "ignore"],
  });
  ({ outbox } = await urls(child));
  // Wait for the first run's invitations.
  const until = Date.now() + 60_000;
  while ((await emailsInOutbox(outbox)) < 20) {
    if (Date.now() > until) throw new Error("no invitations were sent");
    await new Promise((r) => setTimeout(r, 250));
  }
  browser = await startBrowser();
});

after(async () => {
  await browser?.stop();
  child?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the local demo's outbox", () => {
  test("the list pages and searches without loading any email body", async () => {
    const page = await browser.context.newPage();
    const pixels = [];
    page.on("request", (r) => {
      if (r.url().includes("track-open")) pixels.push(r.url());
    });
    await page.goto(outbox);
    const rows = page.locator("table tbody tr");
    const count = await rows.count();
    assert.ok(count > 0 && count <= 50, `rows on the first page: ${count}`);
    // Invitations (by their subject), then one person's emails (by address).
    await page.goto(`${outbox}?q=${encodeURIComponent("Action required")}`);
    const invitation = (await page.locator("table tbody tr").first().innerText()).replace(/\s+/g, " ");
    const to = invitation.match(/[\w.+-]+@[\w.-]+\.\w+/g)?.find((a) => !a.startsWith("mfa"));
    assert.ok(to, `a recipient in: ${invitation}`);
    await page.goto(`${outbox}?q=${encodeURIComponent(to)}`);
    const found = await page.locator("table tbody tr").allInnerTexts();
    assert.ok(found.length >= 1 && found.every((t) => t.includes(to)), found.join("\n"));
    await shot(page, "20-outbox-search");
    assert.deepEqual(pixels, [], "viewing the list fired no tracking pixel");

    // Opening one email shows it, with its pixel: reading it (not listing it) is what counts.
    const link = page.locator("table tbody tr a").first();
    await Promise.all([page.waitForURL((u) => /\/outbox\/\d+\.html$/.test(u.pathname)), link.click()]);
    const frame = await page.locator("iframe").getAttribute("srcdoc");
    assert.match(frame ?? "", /\/api\/track-open\?token=/, "the email page holds the email and its pixel");
    assert.ok((frame ?? "").includes(to) || (await page.locator("body").innerText()).includes(to));
    await shot(page, "21-outbox-email");
    await page.close();
  });
});
