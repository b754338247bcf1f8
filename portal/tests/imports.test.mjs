// Browser test of background imports on the upload page: a 202 upload shows an import, its
// progress bar survives a page reload, and it ends with the final counts.
// The handler runs with MFA_IMPORT_REQUEST_SECONDS=0 (every upload answers 202). On SQLite the
// import then completes in milliseconds, so the "still running after a reload" step holds the
// import list at a running snapshot (a browser route) until the test lets it go on.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { shot, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;
let page;
const pageErrors = [];

async function text(selector) {
  const t = await page.locator(selector).first().innerText();
  return t.replace(/\s+/g, " ").trim();
}

const PEOPLE = Array.from({ length: 300 }, (_, i) => `imported${String(i).padStart(3, "0")}@contoso.com,Imported ${i}`);
const CSV = "UPN,DisplayName\n" + PEOPLE.join("\n") + "\n";

before(async () => {
  server = await startServer({ MFA_IMPORT_REQUEST_SECONDS: "0" });
  browser = await startBrowser();
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`${m.text()} ${m.location().url}`);
  });
});

after(async () => {
  await browser?.stop();
  await server?.stop();
});

async function signIn() {
  await page.goto(`${server.base}/portal/`);
  const button = page.getByRole("button", { name: "Dev sign-in (local only)" });
  if (await button.isVisible().catch(() => false)) await button.click();
  await page.getByRole("tablist", { name: "Portal sections" }).waitFor();
  await page.getByRole("tab", { name: "Upload CSV" }).click();
}

describe("background imports on the upload page", () => {
  test("a 202 upload shows its import and ends with the final counts", async () => {
    await signIn();
    assert.ok(await page.locator("#imports").isHidden(), "no import yet: nothing shown");
    await page.evaluate((csv) => {
      const dt = new DataTransfer();
      dt.items.add(new File([csv], "big.csv", { type: "text/csv" }));
      const zone = document.getElementById("dropzone");
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, CSV);
    await page.locator("#preview-summary").waitFor();
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator("#upload-result [data-result=running]").waitFor();
    assert.match(await text("#upload-result"), /Upload accepted/);
    assert.match(await text("#upload-result"), /300 are being written in the background/);
    const done = page.locator("#imports [data-state=completed]");
    await done.waitFor();
    assert.match(await text("#imports [data-state=completed]"), /300 of 300 rows written \(300 added, 0 re-queued, 0 reset, 0 unchanged\)/);
    const report = await (await fetch(`${server.apiBase}/api/admin/report`)).json();
    assert.equal(report.summary.funnel.uploaded, 300);
    await shot(page, "20-import-completed");
  });

  test("a running import's progress bar survives a reload and follows the import to its end", async () => {
    const list = await (await fetch(`${server.apiBase}/api/admin/imports`)).json();
    const real = list.imports[0];
    assert.equal(real.state, "completed");
    // Hold the list at a snapshot of the import half way (as the SharePoint store would show it).
    let snapshot = {
      ...real,
      id: "0b6c3a8e-1d2f-4c5b-9a7e-000000000001",
      batchId: "big-wave",
      state: "running",
      finishedAt: null,
      rowsTotal: 100000,
      rowsWritten: 41000,
      rowsLeft: 59000,
      percent: 41,
      etaSeconds: 1500,
      outcome: { inserted: 41000, requeued: 0, reset: 0, unchanged: 0 },
    };
    let reads = 0;
    await page.route("**/api/admin/imports", async (route) => {
      reads += 1;
      await route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ imports: [snapshot, real], running: snapshot.state === "running" ? 1 : 0 }) });
    });
    await page.reload();
    await signIn();
    const bar = page.locator(`#imports [data-import="${snapshot.id}"] progress`);
    await bar.waitFor();
    assert.equal(await bar.getAttribute("max"), "100000");
    assert.equal(await bar.getAttribute("value"), "41000");
    const line = await text(`#imports [data-import="${snapshot.id}"]`);
    assert.match(line, /Import of batch big-wave by dev/);
    assert.match(line, /41,000 of 100,000 rows written \(41%\), 59,000 left — about 25 min left/);
    await shot(page, "21-import-running-after-reload");
    // The page keeps polling while it runs: progress moves, then the import completes.
    const before = reads;
    snapshot = { ...snapshot, rowsWritten: 80000, rowsLeft: 20000, percent: 80, etaSeconds: 500, outcome: { ...snapshot.outcome, inserted: 80000 } };
    await page.waitForFunction((id) => document.querySelector(`#imports [data-import="${id}"] progress`)?.getAttribute("value") === "80000", snapshot.id);
    assert.ok(reads > before, "polled again");
    snapshot = { ...snapshot, state: "completed", finishedAt: new Date().toISOString(), rowsWritten: 100000, rowsLeft: 0, percent: 100, etaSeconds: null, outcome: { ...snapshot.outcome, inserted: 100000 } };
    await page.locator(`#imports [data-import="${snapshot.id}"][data-state=completed]`).waitFor();
    assert.match(await text(`#imports [data-import="${snapshot.id}"]`), /100,000 of 100,000 rows written \(100,000 added/);
    await page.unroute("**/api/admin/imports");
    assert.deepEqual(pageErrors, []);
  });
});
