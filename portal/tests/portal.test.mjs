// Browser tests of the admin portal against the real handler in local dev mode.
// Run: npm test (after npm run build and cargo build -p mfa-handler); see scripts/test.sh.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { shot, startBrowser, startServer } from "./harness.mjs";

const BAD_CSV = [
  "UPN,DisplayName,Department,JobTitle",
  "ann.good@contoso.com,Ann Good,Sales,Rep",
  "not-an-address,Bad One,Sales,Rep",
  "bob.good@contoso.com,Bob Good,IT,Admin",
  "ANN.GOOD@contoso.com,Ann Again,Sales,Rep",
  "carol@contoso..com,Carol,IT,Admin",
  'dave@contoso.com,"<img src=x onerror=alert(1)>",IT,Admin',
].join("\r\n");

const DEPTS = ["Sales", "IT", "Finance", "HR"];
const GOOD_PEOPLE = Array.from({ length: 120 }, (_, i) => {
  const k = String(i + 1).padStart(3, "0");
  return { upn: `user${k}@contoso.com`, name: `User ${k}`, dept: DEPTS[i % 4] };
});
// Semicolon-separated with a BOM and spaced headers, as Excel's "CSV UTF-8" writes it in many locales.
const GOOD_CSV = "\ufeffUser Principal Name;Display Name;Department;Job Title\n" + GOOD_PEOPLE.map((p) => `${p.upn};${p.name};${p.dept};Staff`).join("\n") + "\n";

let server;
let browser;
let page;
const pageErrors = [];

/** Text of an element, whitespace collapsed. */
async function text(selector) {
  const t = await page.locator(selector).first().evaluate((el) => (el instanceof HTMLElement ? el.innerText : el.textContent));
  return (t ?? "").replace(/\s+/g, " ").trim();
}

/** Visible text whose contrast with its background is under 4.5:1 (3:1 for large text). */
async function lowContrast() {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255 };
    };
    const bad = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent.trim() || el.closest("svg, [hidden], .visually-hidden, option")) continue;
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden") continue;
      const st = getComputedStyle(el);
      if (Number(st.opacity) < 1 || el.closest("button:disabled")) continue;
      const fg = parse(st.color);
      const bg = background(el);
      const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) bad.push(`${n.textContent.trim().slice(0, 40)} (${ratio.toFixed(2)}:1)`);
    }
    return bad;
  });
}

async function tab(name) {
  await page.getByRole("tab", { name }).click();
}

before(async () => {
  server = await startServer();
  browser = await startBrowser();
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    // The refused upload is a 400 on purpose; Chromium logs it as a failed resource.
    // A 503 from /api/admin/run and /api/admin/preview is expected too: this handler build has
    // no worker (the Preview tab says so; control.test.mjs covers it with handler local).
    const expected = /status of (400|503)/.test(m.text()) && /\/api\/(upload-users|admin\/run|admin\/preview)/.test(m.location().url);
    if (m.type() === "error" && !expected) pageErrors.push(`${m.text()} ${m.location().url}`);
  });
  page.on("dialog", (d) => {
    pageErrors.push(`unexpected dialog: ${d.message()}`);
    void d.dismiss();
  });
});

after(async () => {
  await browser?.stop();
  await server?.stop();
});

describe("admin portal in local dev mode", () => {
  test("dev sign-in shows the portal", async () => {
    await page.goto(`${server.base}/portal/`);
    const signIn = page.getByRole("button", { name: "Dev sign-in (local only)" });
    await signIn.waitFor();
    assert.match(await text(".badge"), /Local dev mode/);
    await shot(page, "01-sign-in");
    await signIn.click();
    await page.getByRole("tablist", { name: "Portal sections" }).waitFor();
    assert.equal(await page.getByRole("tab", { name: "Dashboard" }).getAttribute("aria-selected"), "true");
    await page.locator("[data-kpi=uploaded] .kpi-value").waitFor();
    assert.equal(await text("[data-kpi=uploaded] .kpi-value"), "0");
    assert.match(await text("#who"), /Dev \(local only\)/);
  });

  test("tabs work with the keyboard alone", async () => {
    await page.getByRole("tab", { name: "Dashboard" }).focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Upload CSV");
    assert.equal(await page.getByRole("tab", { name: "Upload CSV" }).getAttribute("aria-selected"), "true");
    assert.ok(await page.locator("#panel-upload").isVisible());
    assert.ok(!(await page.locator("#panel-dashboard").isVisible()));
    await page.keyboard.press("ArrowRight");
    assert.ok(await page.locator("#panel-add").isVisible());
    await page.keyboard.press("ArrowRight");
    assert.ok(await page.locator("#panel-campaign").isVisible());
    await page.keyboard.press("End");
    assert.ok(await page.locator("#panel-audit").isVisible());
    await page.keyboard.press("ArrowRight");
    assert.ok(await page.locator("#panel-dashboard").isVisible(), "arrow keys wrap around");
    await page.keyboard.press("ArrowLeft");
    assert.ok(await page.locator("#panel-audit").isVisible(), "both ways");
    await page.keyboard.press("Home");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    assert.ok(await page.locator("#panel-add").isVisible());
    // Tab moves from the tab list into the panel, then to the first field.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "panel-add");
    await page.keyboard.press("Tab");
    assert.match(await page.evaluate(() => document.activeElement?.getAttribute("name") ?? ""), /upn/);
    await shot(page, "02-keyboard-focus");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Home");
    assert.ok(await page.locator("#panel-dashboard").isVisible());
  });

  test("a dropped CSV is previewed with per-row problems, then the server's report is shown", async () => {
    await tab("Upload CSV");
    await page.evaluate((csv) => {
      const dt = new DataTransfer();
      dt.items.add(new File([csv], "mixed.csv", { type: "text/csv" }));
      const zone = document.getElementById("dropzone");
      zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, BAD_CSV);
    await page.locator("#preview-summary").waitFor();
    const summary = await text("#preview-summary");
    assert.match(summary, /6 people, 3 valid, 3 problems/);
    const badRows = await page.locator("#preview-table tbody tr.bad").evaluateAll((rows) => rows.map((r) => Number(r.dataset.row)));
    // Numbered as a spreadsheet shows them: the header is row 1.
    assert.deepEqual(badRows, [3, 5, 6]);
    const clientProblems = await page.locator("#preview-problems tbody tr").evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.deepEqual(clientProblems.map((r) => r[0]), ["3", "5", "6"]);
    assert.match(clientProblems[1][3], /duplicate: ann\.good@contoso\.com is already on row 2/);
    // The display name that looks like HTML is shown as text, not run.
    assert.equal(await page.locator("#preview-table tbody tr[data-row='7'] td").nth(1).innerText(), "<img src=x onerror=alert(1)>");
    assert.equal(await page.locator("#preview-table img").count(), 0);
    await shot(page, "03-preview-problems");

    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator("#upload-result [data-result=refused]").waitFor();
    const serverProblems = await page.locator("#server-problems tbody tr").evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.deepEqual(serverProblems.map((r) => r[0]), ["3", "5", "6"], "the server reports the same rows as the preview");
    // The refusal says it once.
    const refusal = await text("#upload-result [data-result=refused]");
    assert.equal(refusal.match(/nothing was stored/gi)?.length, 1, refusal);
    assert.deepEqual(
      serverProblems.map((r) => r[3]),
      clientProblems.map((r) => r[3]),
      "the preview words problems like the server",
    );
    assert.equal(await page.locator("#upload-result").getAttribute("aria-live"), "polite");
    await shot(page, "04-server-report");
    const report = await (await fetch(`${server.apiBase}/api/admin/report`)).json();
    assert.equal(report.summary.funnel.uploaded, 0, "a refused upload stores nothing");
  });

  test("the preview applies the server's rules to edge cases, row for row", async () => {
    const edge = [
      "Email;Name;Department;Job Title;Notes",
      "ok.one@contoso.com;One;Sales;Rep;x",
      "",
      "a..b@contoso.com;Two;Sales;Rep;x",
      '"multi@contoso.com";"Line one\nline two";IT;Admin;x',
      ";;;;",
      "num@contoso.123;Three;IT;Admin;x",
      "x@-contoso.com;Four;IT;Admin;x",
      "x@contoso_.com;Five;IT;Admin;x",
      `${"l".repeat(65)}@contoso.com;Six;IT;Admin;x`,
      `long@contoso.com;${"N".repeat(257)};IT;Admin;x`,
      "tab@contoso.com;Seven;Dept\tWith Tab;Admin;x",
      "ragged@contoso.com",
      "-dash@contoso.com;Eight;IT;Admin;x",
      "OK.ONE@CONTOSO.COM;Dup;IT;Admin;x",
      "two@@contoso.com;Nine;IT;Admin;x",
    ].join("\n");
    await page.locator("input[type=file]").setInputFiles({ name: "edge.csv", mimeType: "text/csv", buffer: Buffer.from(edge) });
    await page.locator("#preview-summary", { hasText: "edge.csv" }).waitFor();
    assert.match(await text("#preview-summary"), /semicolon/);
    assert.match(await text("#panel-upload .file-info"), /ignored: Notes/);
    const client = await page.locator("#preview-problems tbody tr").evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator("#upload-result [data-result=refused]").waitFor();
    const server = await page.locator("#server-problems tbody tr").evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.ok(server.length >= 9, `the server found ${server.length} problems`);
    assert.deepEqual(client, server, "preview and server report list the same problems");
  });

  test("a valid file picked with the file chooser is uploaded and the dashboard changes", async () => {
    await page.locator("input[type=file]").setInputFiles({ name: "wave-1.csv", mimeType: "text/csv", buffer: Buffer.from(GOOD_CSV) });
    await page.locator("#preview-summary.ok").waitFor();
    assert.match(await text("#preview-summary"), /120 people, 120 valid, 0 problems/);
    assert.match(await text("#preview-summary"), /semicolon/);
    await page.getByLabel("Batch id").first().fill("wave-1");
    await page.getByLabel("Reset existing people").check();
    assert.match(await text("#panel-upload .warning:visible"), /Reset restarts onboarding/);
    await page.getByLabel("Reset existing people").uncheck();
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator("#upload-result [data-result=ok]").waitFor();
    assert.match(await text("#upload-result"), /Upload stored: batch wave-1/);
    assert.match(await text("#upload-result"), /120 added/);
    // "Send invitations now" was left unticked: the batch is held, and the answer says so.
    assert.match(await text("#upload-result"), /Held: nobody is emailed until you release batch wave-1 on the Campaign tab/);
    await shot(page, "05-upload-ok");

    await tab("Dashboard");
    await page.locator("[data-kpi=uploaded] .kpi-value", { hasText: "120" }).waitFor({ timeout: 10_000 });
    assert.equal(await text("#funnel-chart [data-step=uploaded] .value"), "120 (100%)");
    assert.equal(await text("#detection"), "Registration detection: not checked yet");
    assert.match(await text("#batch-table tr[data-batch='wave-1']"), /wave-1 120 0 0 0 0 0% · At risk/);
    assert.match(await text("#status-bars li[data-status=Pending]"), /Pending 120/);
    assert.match(await text("#table-status"), /120 people match; showing 1–50/);
    await shot(page, "06-dashboard");
  });

  test("the people table searches, filters by status and pages on the server", async () => {
    await page.getByLabel("Search").fill("user007");
    await page.locator("#table-status", { hasText: "1 person match" }).waitFor();
    assert.deepEqual(await page.locator("#people-table tbody tr").evaluateAll((r) => r.map((x) => x.dataset.upn)), ["user007@contoso.com"]);
    await page.getByLabel("Search").fill("");
    await page.locator("#table-status", { hasText: "120 people match" }).waitFor();
    await page.getByLabel("Status", { exact: true }).selectOption("Sent");
    await page.locator("#table-status", { hasText: "0 people match" }).waitFor();
    assert.match(await text("#people-table tbody"), /Nobody matches this filter/);
    await page.getByLabel("Status", { exact: true }).selectOption("Pending");
    await page.locator("#table-status", { hasText: "120 people match" }).waitFor();
    await page.getByRole("button", { name: "Next" }).click();
    await page.locator("#table-status", { hasText: "showing 51–100" }).waitFor();
    assert.equal(await page.locator("#people-table tbody tr").first().getAttribute("data-upn"), "user051@contoso.com");
    assert.match(await text(".pager"), /Page 2 of 3/);
    await page.getByLabel("Search").fill("User 11");
    await page.locator("#table-status", { hasText: "people match; showing 1–" }).waitFor();
    await page.locator("#table-status", { hasText: "10 people match" }).waitFor();
    await shot(page, "07-filtered-table");
  });

  test("export downloads the current filter as CSV", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal(download.suggestedFilename(), `mfa-report-${today}.csv`);
    const csv = readFileSync(await download.path(), "utf8");
    const lines = csv.trim().split(/\r?\n/);
    assert.match(lines[0], /^Title,/);
    const upns = lines.slice(1).map((l) => l.split(",")[0]);
    const expected = GOOD_PEOPLE.filter((p) => p.name.includes("User 11")).map((p) => p.upn);
    assert.deepEqual(upns.sort(), expected.sort(), "the export holds exactly the filtered people");
    // With a batch chosen, the file is named after it and holds the whole batch.
    await page.getByLabel("Search").fill("");
    await page.getByLabel("Status", { exact: true }).selectOption("");
    await page.getByLabel("Batch", { exact: true }).selectOption("wave-1");
    await page.locator("#table-status", { hasText: "120 people match" }).waitFor();
    const [d2] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    assert.equal(d2.suggestedFilename(), `mfa-report-wave-1-${today}.csv`);
    const all = readFileSync(await d2.path(), "utf8").trim().split(/\r?\n/);
    assert.equal(all.length, 121);
    for (const p of GOOD_PEOPLE) assert.ok(all.some((l) => l.startsWith(`${p.upn},${p.name},Pending`)), p.upn);
    await page.getByLabel("Batch", { exact: true }).selectOption("");
  });

  test("manual entry validates like the upload and adds one person", async () => {
    await tab("Add people");
    await page.getByLabel("UPN (sign-in address)").fill("eve@contoso");
    await page.getByRole("button", { name: "Add people" }).click();
    await page.locator("#manual-result [data-result=invalid]").waitFor();
    assert.equal(await page.getByLabel("UPN (sign-in address)").getAttribute("aria-invalid"), "true");
    assert.match(await text("#panel-add .field-msg.error"), /the domain needs a dot/);
    await shot(page, "08-manual-invalid");
    await page.getByLabel("UPN (sign-in address)").fill("eve.new@contoso.com");
    await page.getByLabel("Display name").fill("Eve New");
    await page.getByLabel("Department").fill("Legal");
    await page.getByLabel("Job title").fill("Counsel");
    await page.getByLabel("Batch id").last().fill("manual-1");
    await page.getByRole("button", { name: "Add people" }).click();
    await page.locator("#manual-result [data-result=ok]").waitFor();
    assert.match(await text("#manual-result"), /batch manual-1/);
    assert.match(await text("#manual-result"), /1 added/);
    await shot(page, "09-manual-ok");
    await tab("Dashboard");
    await page.locator("[data-kpi=uploaded] .kpi-value", { hasText: "121" }).waitFor({ timeout: 10_000 });
    await page.getByLabel("Search").fill("eve");
    await page.locator("#people-table tbody tr[data-upn='eve.new@contoso.com']").waitFor();
    assert.match(await text("#people-table tbody tr[data-upn='eve.new@contoso.com']"), /Eve New Legal Pending/);
  });

  test("needing-attention counts are filters", async () => {
    await page.getByLabel("Search").fill("");
    // Both uploads were held ("Send invitations now" unticked): nobody is queued for sending.
    assert.match(await page.locator("button[data-attention=queued]").innerText(), /^0/);
    const held = page.locator("button[data-attention=held]");
    assert.match(await held.innerText(), /121/);
    await held.click();
    assert.equal(await held.getAttribute("aria-pressed"), "true");
    await page.locator("#table-status", { hasText: "121 people match" }).waitFor();
    assert.equal(await page.getByLabel("Attention", { exact: true }).inputValue(), "held");
    await page.locator("button[data-attention=escalated]").click();
    await page.locator("#table-status", { hasText: "0 people match" }).waitFor();
    await shot(page, "10-attention");
    await page.locator("button[data-attention=escalated]").click();
    await page.locator("#table-status", { hasText: "121 people match" }).waitFor();
  });

  test("the directory card stays hidden until the directory passes report something, then shows their counts", async () => {
    // The real API reports zero directory outcomes here: no card.
    assert.equal(await page.locator("#h-directory").isVisible(), false);
    // What a tenant using the opt-in passes would report (docs/directory-passes.md).
    const pattern = "**/api/admin/report*";
    await page.route(pattern, async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      assert.deepEqual(Object.keys(json.summary.directory).sort(), ["perUserMfa", "phone"]);
      json.summary.directory = {
        phone: { Provisioned: 40, HasPhone: 5, HasMfa: 3, NoMobile: 7, InvalidNumber: 2, Failed: 1 },
        perUserMfa: { disabled: 0, enabled: 4, enforced: 36 },
      };
      json.pilot = { groupId: "g-1", groupName: "MFA Pilot", members: 60, inScope: 58, outOfScope: 63, at: "2026-03-02T09:00:00Z" };
      await route.fulfill({ response, json });
    });
    await page.locator("#refresh").click();
    await page.locator("#h-directory").waitFor();
    const cell = (table, key) => text(`#${table} [data-directory=${key}] td`);
    assert.equal(await cell("phone-counts", "withoutMfa"), "50");
    assert.equal(await cell("phone-counts", "eligible"), "43");
    assert.equal(await cell("phone-counts", "provisioned"), "40");
    assert.equal(await cell("phone-counts", "invalidNumber"), "2");
    assert.equal(await cell("phone-counts", "refused"), "1");
    assert.equal(await cell("per-user-mfa", "enforced"), "36");
    assert.match(await text("#pilot-scope"), /MFA Pilot: 60 members; 58 tracked people in scope, 63 out of scope/);
    await shot(page, "10b-directory");
    await page.unroute(pattern);
    await page.locator("#refresh").click();
    await page.locator("#h-directory").waitFor({ state: "hidden" });
  });

  test("the activity chart follows the server's clock, not the browser's", async () => {
    await tab("Dashboard");
    const pattern = "**/api/admin/report*";
    await page.route(pattern, async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      // A simulated clock (the local demo runs time 2016x faster) far from the browser's.
      json.generatedAt = "2031-06-20T10:00:00Z";
      json.summary.byDay = [{ day: "2031-06-20", uploaded: 7, sent: 5, opened: 0, clicked: 2, active: 1 }];
      await route.fulfill({ response, json });
    });
    await page.locator("#refresh").click();
    const last = page.locator("figure:has(#activity-chart) .as-table tbody tr").last();
    await last.locator("th", { hasText: "2031-06-20" }).waitFor({ state: "attached" });
    assert.deepEqual(await last.locator("td").allTextContents(), ["7", "5", "2", "1"]);
    await page.unroute(pattern);
    await page.locator("#refresh").click();
    await page.locator("figure:has(#activity-chart) .as-table tbody tr th", { hasText: "2031-06-20" }).waitFor({ state: "detached" });
  });

  test("errors are grouped by reason with counts, as in the report email", async () => {
    await tab("Dashboard");
    assert.equal(await page.locator("#error-reasons").count(), 0, "no errors, no table");
    const pattern = "**/api/admin/report*";
    await page.route(pattern, async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      assert.deepEqual(json.summary.errorReasons, [], "the real API reports the (empty) grouping");
      json.summary.errors = 4512;
      json.summary.errorReasons = [
        { reason: "No such user in Entra ID.", count: 4000 },
        { reason: "The account is disabled in Entra ID.", count: 500 },
      ];
      await route.fulfill({ response, json });
    });
    await page.locator("#refresh").click();
    await page.locator("#error-reasons").waitFor();
    const rows = await page.locator("#error-reasons tbody tr").allInnerTexts();
    assert.deepEqual(
      rows.map((r) => r.replace(/\s+/g, " ").trim()),
      ["4,000 No such user in Entra ID.", "500 The account is disabled in Entra ID.", "12 other reasons"],
    );
    await shot(page, "10c-error-reasons");
    await page.unroute(pattern);
    await page.locator("#refresh").click();
    await page.locator("#error-reasons").waitFor({ state: "detached" });
  });

  test("the dashboard shows method strength readiness from the real report API", async () => {
    await tab("Dashboard");
    const pattern = "**/api/admin/report*";
    let seen = null;
    await page.route(pattern, async (route) => {
      // (A refresh still in flight when the test moves on finds the page gone: ignored.)
      const response = await route.fetch().catch(() => null);
      if (!response) return;
      const json = await response.json();
      seen = json.summary.byStrength;
      json.summary.byStrength = { ...json.summary.byStrength, "phone-only": 1234, app: 56 };
      json.summary.phoneOnlyByDepartment = [{ reason: "Finance", count: 1000 }, { reason: "Sales", count: 234 }];
      json.registrationCampaign = { state: "enabled", snoozeDays: 3 };
      json.tenantStrength = { byStrength: { "phone-only": 40321, app: 20000, "phishing-resistant": 9, none: 3 }, guests: 12, at: "2026-12-03T06:00:00Z" };
      await route.fulfill({ response, json }).catch(() => {});
    });
    await page.locator("#refresh").click();
    // The card is there before the refresh answers: wait for the routed answer's numbers.
    await page.locator('#strength-readiness tr[data-strength="phone-only"]', { hasText: "1,234" }).waitFor();
    await page.locator("#phone-only-departments").waitFor();
    await page.locator("#registration-campaign").waitFor();
    const phone = await page.locator('#strength-readiness tr[data-strength="phone-only"]').innerText();
    assert.match(phone.replace(/\s+/g, " "), /1,234 40,321 Phone only: blocked on 1 February 2027/);
    assert.match(await page.locator("#tenant-strength").innerText(), /Tenant-wide: every enabled member account, from the registration report of 2026-12-03/);
    assert.match(await page.locator("#phone-only-departments").innerText(), /Finance 1,000 · Sales 234/);
    assert.match(await page.locator("#registration-campaign").innerText(), /enabled \(snooze 3 days\)/);
    assert.deepEqual(
      Object.keys(seen ?? {}).sort(),
      ["app", "none", "phishing-resistant", "phone-only", "unknown"],
      "the real API reports every strength",
    );
    await shot(page, "10d-strength-readiness");
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.locator("#refresh").click();
  });

  test("a 100,000-row file is checked in slices, uploaded with progress, and the dashboard stays paged", async (t) => {
    await tab("Upload CSV");
    // The file is made and dropped inside the page, so the stall measured is the portal's own.
    const started = Date.now();
    await page.evaluate(() => {
      const rows = ["UPN,DisplayName,Department"];
      for (let i = 0; i < 100_000; i++) rows.push(`bulk${String(i).padStart(6, "0")}@fabrikam.com,Bulk ${i},Dept ${i % 50}`);
      const dt = new DataTransfer();
      dt.items.add(new File([rows.join("\n")], "bulk.csv", { type: "text/csv" }));
      window.__gap = 0;
      let last = performance.now();
      window.__ticker = setInterval(() => {
        const now = performance.now();
        window.__gap = Math.max(window.__gap, now - last);
        last = now;
      }, 20);
      document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.locator("#preview-summary", { hasText: "bulk.csv" }).waitFor({ timeout: 60_000 });
    const checkedMs = Date.now() - started;
    const gap = await page.evaluate(() => {
      clearInterval(window.__ticker);
      return Math.round(window.__gap);
    });
    t.diagnostic(`100,000 rows checked in ${checkedMs} ms; longest UI stall ${gap} ms`);
    assert.match(await text("#preview-summary"), /100,000 people, 100,000 valid, 0 problems/);
    assert.equal(await page.locator("#preview-table tbody tr").count(), 50, "the preview shows only the first rows");
    await page.getByLabel("Batch id").first().fill("bulk");
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator("#upload-result [data-result=ok]").waitFor({ timeout: 120_000 });
    assert.match(await text("#upload-result"), /100,000 added/);
    await tab("Dashboard");
    await page.locator("[data-kpi=uploaded] .kpi-value", { hasText: "100,121" }).waitFor({ timeout: 30_000 });
    await page.locator("#table-status", { hasText: "100,121 people match; showing 1–50" }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator("#people-table tbody tr").count(), 50);
    await page.getByRole("button", { name: "Last" }).click();
    await page.locator("#table-status", { hasText: "showing 100,101–100,121" }).waitFor();
    assert.match(await text(".pager"), /Page 2,003 of 2,003/);
    await shot(page, "11-dashboard-100k");
  });

  test("'send pending invitations now' reports the server's answer", async () => {
    await page.getByRole("button", { name: "Send pending invitations now" }).click();
    await page.locator("#run-status", { hasText: /finished|Could not start/ }).waitFor();
    // The handler binary runs without a worker so far: it answers 503 with a readable reason.
    const status = await text("#run-status");
    assert.ok(/Invitation run finished/.test(status) || /worker is not available/.test(status), status);
  });

  test("a file with bad rows can be uploaded without them, on request", async () => {
    await tab("Upload CSV");
    const csv = ["UPN,DisplayName", "skip.one@contoso.com,One", "nope,Bad", "skip.two@contoso.com,Two", "skip.one@contoso.com,Again"].join("\n");
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], "partly.csv", { type: "text/csv" }));
      document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, csv);
    const offer = page.locator("#upload-valid");
    await offer.waitFor();
    assert.equal(await offer.innerText(), "Upload the 2 valid rows, skip 2");
    await offer.click();
    await page.locator("#upload-result [data-result=ok]").waitFor();
    assert.match(await text("#upload-result"), /2 added/);
    const skipped = await page.locator("#skipped-rows tbody tr").evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.deepEqual(skipped.map((r) => r[0]), ["3", "5"]);
    assert.match(skipped[1][3], /duplicate/);
    assert.match(await text("#skipped-rows caption"), /2 rows skipped/);
    await shot(page, "12-upload-valid-rows");
  });

  test("an old or unknown link's page offers a new link, and the form sends one", async () => {
    const pages = await browser.context.newPage();
    try {
      const unknown = "0b0e5c1a-3c4f-4d2e-9a7b-8c9d0e1f2a3b";
      const resp = await pages.goto(`${server.base}/api/enrol?token=${unknown}`);
      assert.equal(resp.status(), 404);
      await pages.getByRole("heading", { name: "Link Not Recognised" }).waitFor();
      await pages.getByLabel("Your work email address").fill("ann.good@contoso.com");
      await shot(pages, "13-old-link-resend");
      await pages.getByRole("button", { name: "Send me a new link" }).click();
      await pages.getByRole("heading", { name: "Check Your Inbox" }).waitFor();
      const incomplete = await pages.goto(`${server.base}/api/enrol`);
      assert.equal(incomplete.status(), 400);
      await pages.getByRole("button", { name: "Send me a new link" }).waitFor();
    } finally {
      await pages.close();
    }
  });

  test("text keeps a contrast of at least 4.5:1 on every tab", async () => {
    for (const name of ["Dashboard", "Upload CSV", "Add people", "Campaign", "Preview", "Audit log"]) {
      await tab(name);
      assert.deepEqual(await lowContrast(), [], `low-contrast text on ${name}`);
    }
    await tab("Dashboard");
  });

  test("narrow screens get a usable layout", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "12-mobile");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test("no script errors or CSP violations", () => {
    assert.deepEqual(pageErrors, []);
  });
});
