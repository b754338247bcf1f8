// Browser tests of the admin's controls (issue #20) against the REAL `handler local`: the tenant
// simulator, its outbox and the worker. The worker's timer is set to an hour so that only the
// runs a test starts happen; the clock runs 60x faster (the mail limits' pacing of 2 s a message
// takes 33 ms, and the whole file a simulated hour: no reminder or escalation falls due).
//
// Covered: a held upload (send-now unticked) sends nothing; a release (cancelled first, then
// confirmed) sends with the next run; a scheduled, capped release waits; pause (cancelled, then
// confirmed) stops every email and resume lets them out; the preview counts the next run and
// renders an invitation with the person's own link without firing the pixel or the link; a
// person's page with its timeline, each action confirmed (cancel does nothing), Excluded shown,
// a 409 shown; held and excluded filters; the audit log with the acting principal, paging and
// its CSV export.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, portalDir, repoDir, shot, startBrowser } from "./harness.mjs";

const PRINCIPAL = "dev (loopback)";

let child;
let work;
let browser;
let page;
let base; // the handler, http://127.0.0.1:<port>
let sim; // the tenant simulator
let domain;
const pageErrors = [];
const sideEffects = []; // requests to tracking URLs made by the portal page

/** Waits until `handler local` printed its URLs. */
function urls(proc, ms = 90_000) {
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`handler local printed no URLs:\n${out}`)), ms);
    proc.stdout.on("data", (d) => {
      if (process.env.TEST_LOG) process.stderr.write(d);
      out += d;
      const m = out.match(/Outbox \(emails sent\):\s+(\S+)/);
      if (m && /Press Ctrl-C/.test(out)) {
        clearTimeout(timer);
        ok({ outbox: m[1] });
      }
    });
    proc.on("exit", (code) => fail(new Error(`handler local exited with ${code}:\n${out}`)));
  });
}

/** The admin API, as the dev-mode portal calls it (loopback, no credentials). */
async function api(path, init = {}) {
  const r = await fetch(base + path, init);
  const text = await r.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // CSV or empty
  }
  return { status: r.status, body };
}

async function outbox() {
  return (await fetch(`${sim}/_sim/outbox`)).json();
}

/** Emails in the outbox addressed to `upn`. */
async function sentTo(upn) {
  return (await outbox()).filter((m) => m.to.some((t) => t.address.toLowerCase() === upn.toLowerCase()));
}

async function until(what, check, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the scheduled passes (invitations, reminders, escalations, ...) now and waits for them.
 * A release or a new link starts an invitation run in the background; while it holds the run
 * lease the API answers 500 ("another worker run is in progress"), so that is waited out. */
async function runAll() {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await api("/api/admin/run", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    if (r.status === 202) return r.body.report;
    if (r.status !== 500 || Date.now() > end) assert.fail(`run: ${r.status} ${JSON.stringify(r.body)}`);
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

/** A person in the simulated tenant (invitations go only to people Entra knows). */
async function addUser(local, name) {
  const upn = `${local}@${domain}`;
  const r = await fetch(`${sim}/_sim/users`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ userPrincipalName: upn, displayName: name, department: "Test" }) });
  assert.equal(r.status, 201, await r.text());
  return upn;
}

async function text(selector) {
  const t = await page.locator(selector).first().innerText();
  return t.replace(/\s+/g, " ").trim();
}

async function tab(name) {
  await page.getByRole("tab", { name, exact: true }).click();
}

/** Answers the in-page confirmation: `ok` or `cancel`. Returns its text. */
async function answer(choice, screenshot) {
  const dialog = page.locator("dialog.confirm[open]");
  await dialog.waitFor();
  const said = (await dialog.innerText()).replace(/\s+/g, " ");
  if (screenshot) await shot(page, screenshot);
  await dialog.locator(`[data-confirm=${choice}]`).click();
  await dialog.waitFor({ state: "detached" });
  return said;
}

let held; // three people uploaded held in wave-held
let later; // two people in wave-later, released from tomorrow at most one a day
let paused; // added while the campaign is paused
let previewed; // pending for the next run, for the preview

before(async () => {
  const bin = process.env.HANDLER_BIN ?? join(repoDir, "target", "debug", "handler");
  work = mkdtempSync(join(tmpdir(), "control-test-"));
  const port = await freePort();
  child = spawn(
    bin,
    ["local", "--port", String(port), "--people", "5", "--speed", "60", "--interval-seconds", "3600", "--no-upload", "--data-dir", join(work, "data")],
    {
      cwd: work,
      env: { ...process.env, RUST_LOG: "warn", MFA_PORTAL_DIR: resolve(process.env.PORTAL_DIST ?? join(portalDir, "dist")) },
      stdio: ["ignore", "pipe", process.env.TEST_LOG ? "inherit" : "ignore"],
    },
  );
  const { outbox: outboxPage } = await urls(child);
  sim = outboxPage.replace(/\/_sim\/outbox\.html$/, "");
  base = `http://127.0.0.1:${port}`;
  const users = await (await fetch(`${sim}/_sim/users`)).json();
  domain = JSON.stringify(users).match(/"[\w.+-]+@([\w.-]+)"/)[1];
  held = [await addUser("hana.held", "Hana Held"), await addUser("hugo.held", "Hugo Held"), await addUser("hedy.held", "Hedy Held")];
  later = [await addUser("lena.later", "Lena Later"), await addUser("luis.later", "Luis Later")];
  paused = await addUser("paula.paused", "Paula Paused");
  previewed = await addUser("pia.preview", "Pia Preview");

  browser = await startBrowser();
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    // Refusals are part of the tests (an action refused, an unknown or removed person); Chromium
    // logs them as failed resources.
    const expected = /status of 409/.test(m.text()) || (/status of 404/.test(m.text()) && /\/api\/admin\/(users|preview\/email)/.test(m.location().url));
    if (m.type() === "error" && !expected) pageErrors.push(`${m.text()} ${m.location().url}`);
  });
  page.on("dialog", (d) => {
    pageErrors.push(`unexpected window dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on("request", (r) => {
    if (/\/api\/(track-open|enrol)/.test(r.url())) sideEffects.push(r.url());
  });
  await page.goto(`${base}/portal/`);
  await page.getByRole("button", { name: "Dev sign-in (local only)" }).click();
  await page.getByRole("tablist", { name: "Portal sections" }).waitFor();
});

after(async () => {
  await browser?.stop();
  child?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the admin's controls in the portal, against handler local", () => {
  test("an upload with 'Send invitations now' unticked is held: shown as held, and a run sends nothing", async () => {
    await tab("Upload CSV");
    const sendNow = page.getByLabel("Send invitations now").first();
    assert.equal(await sendNow.isChecked(), false, "unticked by default");
    assert.equal(await text("#panel-upload .send-hint"), "Unticked: the batch is held; nobody is emailed until you release it on the Campaign tab.");
    await sendNow.check();
    assert.match(await text("#panel-upload .send-hint"), /^Ticked: invitations start as soon as the upload is stored/);
    await sendNow.uncheck();

    const csv = ["UPN,DisplayName", ...held.map((u) => `${u},Held`)].join("\n");
    await page.locator("input[type=file]").setInputFiles({ name: "held.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.locator("#preview-summary.ok").waitFor();
    await page.getByLabel("Batch id").first().fill("wave-held");
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator("#upload-result [data-result=ok]").waitFor();
    assert.match(await text("#upload-result"), /3 added/);
    assert.match(await text("#upload-result [data-invitations=held]"), /Held: nobody is emailed until you release batch wave-held on the Campaign tab\./);

    // A later wave, held too (released from tomorrow below).
    const csv2 = ["UPN", ...later].join("\n");
    await page.locator("input[type=file]").setInputFiles({ name: "later.csv", mimeType: "text/csv", buffer: Buffer.from(csv2) });
    await page.locator("#preview-summary", { hasText: "later.csv" }).waitFor();
    await page.getByLabel("Batch id").first().fill("wave-later");
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator("#upload-result", { hasText: "batch wave-later" }).waitFor();

    // The people table: "Held" is an attention filter and each of them shows it.
    await tab("Dashboard");
    await page.getByLabel("Attention", { exact: true }).selectOption("held");
    await page.locator("#table-status", { hasText: "5 people match" }).waitFor();
    const pills = await page.locator("#people-table tbody [data-hold]").allInnerTexts();
    assert.deepEqual(pills, ["Held", "Held", "Held", "Held", "Held"]);
    assert.equal(await text("[data-kpi=held] .kpi-value"), "5");
    assert.match(await text("button[data-attention=held]"), /^5 Held/);

    await page.getByRole("button", { name: "Send pending invitations now" }).click();
    await page.locator("#run-status", { hasText: "Invitation run finished" }).waitFor({ timeout: 30_000 });
    await runAll();
    for (const upn of [...held, ...later]) assert.deepEqual(await sentTo(upn), [], `nothing sent to ${upn}`);
    await shot(page, "30-held-upload");
  });

  test("releasing a batch asks first (cancel does nothing), then its people are invited by the next run", async () => {
    await tab("Campaign");
    const row = page.locator("#held-table tr[data-batch='wave-held']");
    await row.waitFor();
    assert.equal(await row.locator("[data-held]").innerText(), "3");
    assert.equal(await row.locator(".release-state").innerText(), "Held: not released");

    await row.getByRole("button", { name: "Release…" }).click();
    await page.locator(".release-form [data-release=submit]").click();
    const asked = await answer("cancel");
    assert.match(asked, /Release batch wave-held\?/);
    assert.match(asked, /3 held people will be invited now, everyone at once/);
    assert.equal((await api("/api/admin/campaign")).body.releases["wave-held"], undefined, "cancelled: nothing released");
    assert.equal(await row.locator(".release-state").innerText(), "Held: not released");

    await page.locator(".release-form [data-release=submit]").click();
    await answer("ok");
    await page.locator("#campaign-result [data-result=released]", { hasText: "wave-held" }).waitFor();
    assert.match(await text("#campaign-result"), /Batch wave-held released now: 3 people/);
    await runAll();
    for (const upn of held) {
      const mails = await until(`an invitation to ${upn}`, async () => {
        const m = await sentTo(upn);
        return m.length ? m : null;
      });
      assert.equal(mails.length, 1, `one invitation to ${upn}`);
    }
    await page.locator("#campaign-refresh").click();
    await page.locator("#held-table tr[data-batch='wave-held'] .release-state", { hasText: "Released: 3 people, done" }).waitFor();
    await shot(page, "31-released");
  });

  test("a release from a chosen time, at most N a day, waits for its time", async () => {
    const row = page.locator("#held-table tr[data-batch='wave-later']");
    await row.getByRole("button", { name: "Release…" }).click();
    await page.getByLabel("From a date and time:").check();
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    const p = (v) => String(v).padStart(2, "0");
    const local = `${tomorrow.getFullYear()}-${p(tomorrow.getMonth() + 1)}-${p(tomorrow.getDate())}T09:00`;
    await page.getByLabel("Release from").fill(local);
    await page.getByLabel("At most this many people a day (optional)").fill("0");
    await page.locator(".release-form [data-release=submit]").click();
    assert.match(await text(".release-form .field-msg"), /at least 1/, "a cap of 0 is refused in the form");
    await page.getByLabel("At most this many people a day (optional)").fill("1");
    await page.locator(".release-form [data-release=submit]").click();
    assert.match(await answer("ok"), /2 held people will be invited from .* at most 1 people a day/);
    await page.locator("#campaign-result [data-result=released]", { hasText: "wave-later" }).waitFor();
    const release = (await api("/api/admin/campaign")).body.releases["wave-later"];
    assert.equal(release.perDay, 1);
    assert.equal(new Date(release.at).getTime(), new Date(local).getTime(), "the time chosen, in the browser's time zone");
    await row.locator(".release-state", { hasText: "Release scheduled for" }).waitFor();
    assert.match(await row.locator(".release-state").innerText(), /at most 1 a day \(by dev \(loopback\)\)/);
    await runAll();
    for (const upn of later) assert.deepEqual(await sentTo(upn), [], `${upn} waits for the release time`);
  });

  test("pausing asks first (cancel does nothing), stops every email, and resuming lets them out", async () => {
    const toggle = page.getByRole("switch", { name: "Campaign sending" });
    await page.locator("#campaign-switch[aria-checked=true]:enabled").waitFor();
    assert.match(await text("#campaign-state"), /^Running/);
    await toggle.click();
    assert.match(await answer("cancel"), /Pause the campaign\?/);
    assert.equal((await api("/api/admin/campaign")).body.paused, false, "cancelled: still running");
    assert.equal(await toggle.getAttribute("aria-checked"), "true");

    await toggle.click();
    await answer("ok", "32-confirm-pause");
    await page.locator("#campaign-result [data-result=paused]").waitFor();
    await page.locator("#campaign-switch[aria-checked=false]").waitFor();
    assert.match(await text("#campaign-state"), /^Paused since .* UTC by dev \(loopback\): no email leaves until you resume\./);
    assert.ok(await page.locator("#paused-banner").isVisible(), "a banner on every tab");

    // Someone added with "Send invitations now" ticked: not held, but paused, so nothing leaves.
    await tab("Add people");
    assert.ok(await page.locator("#paused-banner").isVisible(), "the banner stays on other tabs");
    assert.match(await text("#paused-banner"), /The campaign is paused since .* by dev \(loopback\)/);
    await page.getByLabel("UPN (sign-in address)").fill(paused);
    await page.getByLabel("Batch id").last().fill("paused-1");
    await page.getByLabel("Send invitations now").last().check();
    await page.getByRole("button", { name: "Add people" }).click();
    await page.locator("#manual-result [data-result=ok]").waitFor();
    assert.doesNotMatch(await text("#manual-result"), /Held/);
    const before = (await outbox()).length;
    const report = await runAll();
    assert.equal((await outbox()).length, before, `a run while paused sends nothing: ${JSON.stringify(report).slice(0, 400)}`);

    await tab("Campaign");
    await toggle.click();
    assert.match(await answer("ok"), /Resume the campaign\?/);
    await page.locator("#campaign-result [data-result=resumed]").waitFor();
    await page.locator("#campaign-switch[aria-checked=true]").waitFor();
    assert.ok(!(await page.locator("#paused-banner").isVisible()));
    await runAll();
    await until(`the invitation to ${paused} after resuming`, async () => (await sentTo(paused)).length === 1);
    await shot(page, "33-resumed");
  });

  test("the preview counts what the next run would send and renders an invitation with the person's own link", async () => {
    // Pending for the next scheduled run (neither held nor sent now).
    const up = await api("/api/upload-users?batchId=wave-next&sendNow=false", { method: "POST", headers: { "Content-Type": "text/csv" }, body: `UPN\n${previewed}\n` });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await tab("Preview");
    await page.locator("#preview-kinds").waitFor({ timeout: 30_000 });
    assert.equal(await text("#preview-kinds tr[data-kind=invitation] td"), "1");
    assert.match(await text("#preview-batches tr[data-batch='wave-next']"), /^wave-next 1 0 0 0$/);
    assert.match(await text("#preview-total"), /emails? would be sent by a run now/);

    await page.getByLabel("Email", { exact: true }).selectOption("invitation");
    await page.getByLabel("Person (UPN)").fill(previewed);
    await page.getByRole("button", { name: "Show the email" }).click();
    await page.locator("#sample-frame").waitFor();
    assert.match(await text("#sample-headers [data-field=subject]"), /\S/);
    assert.equal(await text("#sample-headers [data-field=to]"), previewed);
    const templates = await page.locator("#sample-templates li").allInnerTexts();
    assert.ok(templates.some((t) => /^invitation\.html\.hbs — built-in$/.test(t)), templates.join("\n"));
    const srcdoc = await page.locator("#sample-frame").getAttribute("srcdoc");
    const link = srcdoc.match(/\/api\/enrol\?token=[\w-]+/)?.[0];
    assert.ok(link, "the invitation holds an enrolment link");
    assert.ok(srcdoc.includes(previewed), "and the person's address");
    // Styled (its inline styles applied through the CSSOM), and nothing fetched or followed.
    // (Read and clicked from the portal's side: the frame runs no script, not even the test's.)
    const button = await page.locator("#sample-frame").evaluate((f) => {
      const a = [...f.contentDocument.querySelectorAll("a")].find((e) => e.textContent.includes("Set Up MFA Now"));
      a.click();
      return { background: getComputedStyle(a).backgroundColor, href: a.getAttribute("href"), title: a.title };
    });
    assert.notEqual(button.background, "rgba(0, 0, 0, 0)", "the inline styles are applied");
    assert.equal(button.href, null);
    assert.ok(button.title.includes(link), "the link is shown, not followed");
    await page.waitForTimeout(300);
    assert.deepEqual(sideEffects, [], "the preview loaded no pixel and followed no link");
    assert.equal((await api(`/api/admin/users/${encodeURIComponent(previewed)}`)).body.person.emailOpenedDate, null);
    await shot(page, "34-preview");

    // The link is the person's: the invitation sent next carries the same one.
    await runAll();
    const [sent] = await until("the previewed invitation", async () => {
      const m = await sentTo(previewed);
      return m.length ? m : null;
    });
    assert.ok(sent.body.includes(link), "the email sent has the link the preview showed");

    // An unknown person is a clear message, not a blank frame.
    await page.getByLabel("Person (UPN)").fill(`nobody@${domain}`);
    await page.getByRole("button", { name: "Show the email" }).click();
    await page.locator("#sample-email [data-result=refused]").waitFor();
    assert.match(await text("#sample-email"), /is not tracked/);
  });

  test("a person's page: record, timeline, and each action confirmed first; Excluded shown; a refusal explained", async () => {
    const upn = held[0];
    await tab("Dashboard");
    await page.getByLabel("Attention", { exact: true }).selectOption("");
    await page.getByLabel("Search").fill("hana");
    await page.locator("#table-status", { hasText: "1 person match" }).waitFor();
    await page.getByRole("link", { name: upn }).click();
    await page.locator("#panel-person").waitFor();
    assert.equal(new URL(page.url()).hash, `#/person/${encodeURIComponent(upn)}`);
    await page.locator("#person-heading", { hasText: upn }).waitFor();
    assert.equal(await text("#person-fields [data-field=Batch]"), "wave-held");
    assert.equal(await text("#person-fields [data-field=Status]"), "Sent");
    const timeline = await page.locator("#timeline-table tbody tr").allInnerTexts();
    assert.ok(timeline.some((t) => /uploaded in batch wave-held/.test(t)), timeline.join("\n"));
    assert.ok(timeline.some((t) => /invitation sent/.test(t)), timeline.join("\n"));

    const action = (a) => page.locator(`#person-actions [data-action=${a}]`);
    const state = async () => (await api(`/api/admin/users/${encodeURIComponent(upn)}`)).body.person;
    // Every action asks first; cancelling changes nothing.
    for (const a of ["send-link", "exclude", "reset", "remove"]) {
      const before = await state();
      await action(a).click();
      await answer("cancel");
      assert.deepEqual(await state(), before, `${a} cancelled: nothing changed`);
    }
    assert.equal(await page.locator("#person-result").innerText(), "");

    await action("exclude").click();
    assert.match(await answer("ok"), /never emailed again/);
    await page.locator("#person-result [data-result=exclude]").waitFor();
    await page.locator("#person-hold [data-hold=Excluded]").waitFor();
    assert.match(await text("#person-hold"), /^Excluded: never emailed again/);
    assert.equal(await text("#person-fields [data-field=Hold]"), "Excluded");
    await page.locator("#timeline-table", { hasText: "excluded: never emailed again (by dev (loopback))" }).waitFor();
    // Once, with the admin in the "by" column (the audit entry is not repeated as its own line).
    assert.match(await text("#timeline-table"), /excluded: never emailed again \(by dev \(loopback\)\)\s+dev \(loopback\)/);
    assert.doesNotMatch(await text("#timeline-table"), /admin: person\.exclude/);

    // Refused while excluded: the server's reason is shown, and nothing is sent.
    const mails = (await sentTo(upn)).length;
    await action("send-link").click();
    await answer("ok");
    await page.locator("#person-result [data-result=refused]").waitFor();
    assert.match(await text("#person-result"), /^Refused: .*is excluded: include them first/);
    assert.equal((await sentTo(upn)).length, mails);
    await shot(page, "35-person-excluded");

    // Excluded is an attention filter too.
    await page.locator("#person-back").click();
    await page.getByLabel("Search").fill("");
    await page.getByLabel("Attention", { exact: true }).selectOption("excluded");
    await page.locator("#table-status", { hasText: "1 person match" }).waitFor();
    assert.equal(await page.locator("#people-table tbody tr [data-hold]").innerText(), "Excluded");
    await page.getByRole("link", { name: upn }).click();
    await page.locator("#person-hold [data-hold=Excluded]").waitFor();

    await action("include").click();
    await answer("ok");
    await page.locator("#person-result [data-result=include]").waitFor();
    await page.locator("#person-fields [data-field=Hold]", { hasText: "None" }).waitFor();
    assert.equal(await page.locator("#person-hold [data-hold]").count(), 0);

    await action("send-link").click();
    await answer("ok");
    await page.locator("#person-result [data-result=send-link]").waitFor();
    await until("the new link", async () => (await sentTo(upn)).length === mails + 1);

    await action("reset").click();
    await answer("ok");
    await page.locator("#person-result [data-result=reset]").waitFor();
    await page.locator("#person-fields [data-field=Status]", { hasText: "Pending" }).waitFor();

    await action("remove").click();
    assert.match(await answer("ok"), /cannot be undone/);
    await page.locator("#person-result [data-result=remove]").waitFor();
    assert.match(await text("#person-timeline"), /is no longer tracked/);
    assert.equal((await api(`/api/admin/users/${encodeURIComponent(upn)}`)).status, 404);
    await page.reload();
    await page.locator("#person-error", { hasText: "is not tracked" }).waitFor();
  });

  test("find people below a strength: a preview stores nothing, adding asks first and makes one held batch", async () => {
    const before = (await api("/api/admin/users?pageSize=1")).body.total;
    await tab("Campaign");
    await page.locator("#find-below").selectOption("beyond-phone");
    await page.locator("#find-preview").click();
    await page.locator("#find-count").waitFor();
    const said = await text("#find-count");
    const count = Number(said.match(/^([\d,]+) people below beyond-phone/)[1].replace(/,/g, ""));
    assert.ok(count > 0, said);
    assert.equal((await api("/api/admin/users?pageSize=1")).body.total, before, "a preview stores nothing");
    await page.locator("#find-add").click();
    await answer("cancel");
    assert.equal((await api("/api/admin/users?pageSize=1")).body.total, before, "cancel adds nobody");
    await page.locator("#find-add").click();
    await answer("ok", "21-find-people");
    await page.locator("#find-added").waitFor();
    const batch = (await text("#find-added")).match(/as batch (\S+) \(held\)/)[1];
    const held = (await api(`/api/admin/users?batchId=${encodeURIComponent(batch)}&attention=held&pageSize=1`)).body;
    assert.ok(held.total > 0 && held.total <= count, `held in ${batch}: ${held.total}`);
  });

  test("the audit log lists every action with the acting principal, pages, filters and exports CSV", async () => {
    // Enough entries for a second page (dry runs are recorded too).
    for (let i = 0; i < 12; i++) {
      const r = await api("/api/admin/run", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"passes":["invitation"],"dryRun":true}' });
      assert.equal(r.status, 202);
    }
    await tab("Audit log");
    await page.locator("#audit-status", { hasText: "entries" }).waitFor();
    const total = Number((await text("#audit-status")).match(/^([\d,]+) entries/)[1].replace(/,/g, ""));
    assert.ok(total > 25, `entries: ${total}`);
    const first = await page.locator("#audit-table tbody tr").evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.equal(first.length, 25);
    for (const r of first) assert.equal(r[1], PRINCIPAL, r.join(" | "));
    assert.ok(first.every((r) => r[2] === "127.0.0.1"), "from where");
    await page.locator("#audit-next").click();
    await page.locator("nav.pager[aria-label=\"Pages of the audit log\"] span", { hasText: "Page 2 of" }).waitFor();
    const second = await page.locator("#audit-table tbody tr").evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    const actions = new Set([...first, ...second].map((r) => r[3]));
    for (const a of ["upload", "batch.release", "campaign.pause", "campaign.resume", "person.exclude", "person.include", "person.send-link", "person.reset", "person.remove", "run", "run.dry", "find-people"]) {
      assert.ok(actions.has(a), `${a} in the audit log: ${[...actions].join(", ")}`);
    }
    const release = [...first, ...second].find((r) => r[3] === "batch.release" && r[4] === "wave-later");
    assert.match(release[5], /2 held; from .*, at most 1 a day/);
    await page.locator("#audit-prev").click();
    await page.locator("nav.pager[aria-label=\"Pages of the audit log\"] span", { hasText: "Page 1 of" }).waitFor();

    await page.getByLabel("Target (exact)").fill(held[0]);
    await page.locator("#audit-filter").click();
    await page.locator("#audit-status", { hasText: /^5 entries/ }).waitFor();
    const mine = await page.locator("#audit-table tbody tr").evaluateAll((rows) => rows.map((r) => r.cells[3].textContent));
    assert.deepEqual(mine, ["person.remove", "person.reset", "person.send-link", "person.include", "person.exclude"]);
    await shot(page, "36-audit");

    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#audit-export").click()]);
    assert.match(download.suggestedFilename(), /^mfa-audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = readFileSync(await download.path(), "utf8").trim().split(/\r?\n/);
    assert.equal(lines[0], "At,Actor,Origin,Action,Target,Detail,Id");
    assert.equal(lines.length, total + 1, "every entry");
    assert.ok(lines.some((l) => l.includes(`,${PRINCIPAL},127.0.0.1,person.exclude,${held[0]},`)), "the CSV has who and from where");
    assert.equal(await page.locator("#audit-export").getAttribute("href"), "/api/admin/audit?format=csv");
  });

  test("no script errors or CSP violations", () => {
    assert.deepEqual(pageErrors, []);
  });
});
