// The Campaign tab: the pause/resume switch (no email of any kind leaves while paused), today's
// invitations against the daily cap, and the held batches with their release (now, or from a
// chosen time, optionally at most N people a day) and its progress. A banner on every tab says
// when the campaign is paused.

import { Api, ApiError, type Campaign, type Release, type Report } from "./api";
import { confirmAction } from "./dialog";
import { fill, h, uid } from "./dom";
import { n, when } from "./format";

/** A batch on the Campaign tab: held people, its release, or both. */
interface BatchRow {
  batchId: string;
  people: number;
  held: number;
  release: Release | null;
}

function message(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

/** What a release has done so far, in words. */
export function releaseText(r: Release | null, held: number, now: Date): string {
  if (!r) return held ? "Held: not released" : "—";
  const cap = r.perDay ? `, at most ${n(r.perDay)} a day` : "";
  if (r.done) return `Released: ${n(r.released)} ${r.released === 1 ? "person" : "people"}, done`;
  if (new Date(r.at) > now) return `Release scheduled for ${when(r.at)}${cap} (by ${r.by})`;
  if (r.released === 0) return `Released from ${when(r.at)}${cap} (by ${r.by}); invitations start with the next run`;
  const today = r.perDay && r.day ? `; ${n(r.releasedThatDay)} on ${r.day}` : "";
  return `Releasing${cap}: ${n(r.released)} released so far${today}, ${n(held)} still held (by ${r.by})`;
}

export class CampaignPanel {
  el: HTMLElement;
  /** Shown above the tabs while the campaign is paused. */
  banner: HTMLElement;
  private campaign: Campaign | null = null;
  private report: Report | null = null;
  private switchButton: HTMLButtonElement;
  private state: HTMLElement;
  private today: HTMLElement;
  private pauses: HTMLElement;
  private batches: HTMLElement;
  private result: HTMLElement;
  private error: HTMLElement;
  private findBelow: HTMLSelectElement;
  private findGroup: HTMLInputElement;
  private findResult: HTMLElement;
  private found: { below: string; groupId?: string; count: number } | null = null;
  private busy = false;

  constructor(
    private api: Api,
    private onChanged: () => void,
  ) {
    this.banner = h("div", { id: "paused-banner", class: "banner", role: "status", hidden: true });
    this.switchButton = h(
      "button",
      { type: "button", role: "switch", id: "campaign-switch", class: "switch", "aria-checked": "true", "aria-describedby": "campaign-state", disabled: true },
      h("span", { class: "switch-track", "aria-hidden": "true" }, h("span", { class: "switch-thumb" })),
      h("span", { class: "switch-label" }, "Campaign sending"),
    );
    this.switchButton.addEventListener("click", () => void this.toggle());
    this.state = h("p", { id: "campaign-state", class: "campaign-state" }, "Loading…");
    this.today = h("p", { id: "invites-today", class: "muted" });
    this.pauses = h("div", { id: "past-pauses" });
    this.batches = h("div", { id: "held-batches" });
    this.result = h("div", { id: "campaign-result", role: "status", "aria-live": "polite" });
    this.error = h("div", { role: "alert", id: "campaign-error" });
    this.findBelow = h(
      "select",
      { id: "find-below" },
      h("option", { value: "beyond-phone" }, "beyond phone (SMS or voice alone is not enough)"),
      h("option", { value: "phishing-resistant" }, "phishing-resistant (passkeys, security keys, Windows Hello)"),
      h("option", { value: "any" }, "any MFA (people with none)"),
    ) as HTMLSelectElement;
    this.findGroup = h("input", { id: "find-group", type: "text", placeholder: "optional: a group's object id" }) as HTMLInputElement;
    this.findResult = h("div", { id: "find-result", role: "status", "aria-live": "polite" });
    this.el = h(
      "section",
      { class: "panel" },
      h("h2", {}, "Campaign"),
      this.error,
      h(
        "section",
        { class: "card", "aria-labelledby": "h-sending" },
        h("h3", { id: "h-sending" }, "Sending"),
        h("div", { class: "toolbar" }, this.switchButton, h("button", { type: "button", id: "campaign-refresh", onclick: () => void this.load() }, "Refresh")),
        this.state,
        h("p", { class: "muted" }, "While paused, no email of any kind leaves (a run already going stops before its next send). Links, opens, clicks and registrations keep working. Resuming continues where it stopped: due times move by the pause, so nobody gets a burst of late reminders."),
        this.today,
        this.pauses,
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "h-held" },
        h("h3", { id: "h-held" }, "Held batches"),
        h("p", { class: "muted" }, "An upload with “Send invitations now” unticked is held: nobody in it is emailed, or counted as overdue, until you release it. Release it now, or from a date and time, optionally at most a number of people a day."),
        this.batches,
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "h-find" },
        h("h3", { id: "h-find" }, "Find people below a strength"),
        h("p", { class: "muted" }, "Everyone in the tenant (or in one group) whose strongest method is below the chosen strength, from the registration report (Entra ID P1). Guests and disabled accounts are left out. Preview first: nothing is stored until you add them."),
        h("div", { class: "toolbar" }, h("label", {}, "Below ", this.findBelow), h("label", {}, "Group ", this.findGroup), h("button", { type: "button", id: "find-preview", onclick: () => void this.findPreview() }, "Preview")),
        this.findResult,
      ),
      this.result,
    );
  }

  /** Counts the people below the chosen strength (nothing stored). */
  private async findPreview(): Promise<void> {
    const below = this.findBelow.value;
    const groupId = this.findGroup.value.trim() || undefined;
    fill(this.findResult, h("p", { class: "muted" }, "Reading the registration report…"));
    try {
      const f = await this.api.findPeople({ below, groupId });
      this.found = { below, groupId, count: f.count };
      const strengths = Object.entries(f.byStrength)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(" · ");
      fill(
        this.findResult,
        h("p", { id: "find-count" }, `${n(f.count)} people below ${below} (of ${n(f.examined)} read; ${n(f.guests)} guests and ${n(f.disabled)} disabled accounts left out).`),
        h("p", { class: "muted" }, `By strength: ${strengths}. Read from ${f.source === "report" ? "the registration report" : "each person's methods (no Entra ID P1)"}.`),
        f.complete ? null : h("p", { class: "result bad", id: "find-partial" }, "Partial: the reads ran out of time; the counts cover only the people read. Use a group, or run it again later."),
        f.sample.length ? h("p", { class: "muted" }, `First: ${f.sample.join(", ")}${f.count > f.sample.length ? ", …" : ""}`) : null,
        f.count
          ? h("button", { type: "button", id: "find-add", class: "primary", onclick: () => void this.findAdd() }, `Add these ${n(f.count)} people as a held batch`)
          : null,
      );
    } catch (e) {
      fill(this.findResult, h("p", { class: "result bad" }, message(e)));
    }
  }

  /** Adds the people found as one held batch, after confirmation. */
  private async findAdd(): Promise<void> {
    const f = this.found;
    if (!f) return;
    const ok = await confirmAction({
      title: `Add ${n(f.count)} people?`,
      body: `Everyone below ${f.below}${f.groupId ? " in the group" : ""} is added as one held batch: nobody is emailed until you release it below.`,
      confirm: "Add them (held)",
    });
    if (!ok) return;
    try {
      const r = await this.api.findPeople({ below: f.below, groupId: f.groupId, commit: true, hold: true });
      fill(this.findResult, h("p", { class: "result ok", id: "find-added" }, `Added ${n(r.inserted ?? 0)} new people as batch ${r.batchId} (held). Release it under Held batches.`));
      this.found = null;
      await this.load();
      this.onChanged();
    } catch (e) {
      fill(this.findResult, h("p", { class: "result bad" }, message(e)));
    }
  }

  /** Called when the tab is shown. */
  show(): void {
    void this.load();
  }

  /** Reads the controls and the per-batch counts. */
  async load(): Promise<void> {
    try {
      const [campaign, report] = await Promise.all([this.api.campaign(), this.api.report(3)]);
      this.campaign = campaign;
      this.report = report;
      fill(this.error);
      this.render();
    } catch (e) {
      fill(this.error, h("p", { class: "result bad" }, `Could not load the campaign controls: ${message(e)}`));
    }
  }

  /** Reads only the paused state (for the banner on every tab). */
  async loadStatus(): Promise<void> {
    try {
      this.campaign = await this.api.campaign();
      this.renderSending();
    } catch {
      // The tab itself reports errors; the banner just stays as it was.
    }
  }

  private render(): void {
    this.renderSending();
    this.renderBatches();
  }

  private renderSending(): void {
    const c = this.campaign;
    if (!c) return;
    this.switchButton.disabled = this.busy;
    this.switchButton.setAttribute("aria-checked", String(!c.paused));
    this.switchButton.classList.toggle("off", c.paused);
    this.state.textContent = c.paused
      ? `Paused since ${when(c.pausedSince)} by ${c.pausedBy ?? "an admin"}: no email leaves until you resume.`
      : "Running: emails go out as scheduled.";
    this.state.classList.toggle("paused", c.paused);
    this.today.textContent = `Invitations sent today: ${n(c.invitesToday)}${c.invitesPerDay ? ` of at most ${n(c.invitesPerDay)} a day (MFA_INVITES_PER_DAY)` : " (no campaign-wide daily cap)"}.`;
    const past = c.pauses.slice(-5).reverse();
    fill(
      this.pauses,
      past.length
        ? h(
            "details",
            {},
            h("summary", {}, `Earlier pauses (${n(c.pauses.length)})`),
            h("ul", {}, ...past.map((p) => h("li", {}, `${when(p.from)} to ${when(p.to)}`))),
          )
        : null,
    );
    this.banner.hidden = !c.paused;
    fill(
      this.banner,
      ...(c.paused
        ? [
            h("strong", {}, "The campaign is paused"),
            ` since ${when(c.pausedSince)} by ${c.pausedBy ?? "an admin"}: no email leaves until it is resumed. `,
            h("a", { href: "#campaign" }, "Campaign controls"),
          ]
        : []),
    );
  }

  private rows(): BatchRow[] {
    const releases = this.campaign?.releases ?? {};
    const byBatch = this.report?.summary.byBatch ?? [];
    const rows: BatchRow[] = byBatch
      .filter((b) => (b.held ?? 0) > 0 || releases[b.batchId])
      .map((b) => ({ batchId: b.batchId, people: b.uploaded, held: b.held ?? 0, release: releases[b.batchId] ?? null }));
    // Held first (what needs a decision), then releases in progress, then done.
    const rank = (r: BatchRow) => (r.release === null ? 0 : r.release.done ? 2 : 1);
    return rows.sort((a, b) => rank(a) - rank(b) || a.batchId.localeCompare(b.batchId));
  }

  private renderBatches(): void {
    const rows = this.rows();
    const now = new Date(this.campaign?.generatedAt ?? Date.now());
    if (!rows.length) {
      fill(this.batches, h("p", { class: "muted", id: "no-held" }, "No held batches."));
      return;
    }
    fill(
      this.batches,
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { id: "held-table" },
          h("caption", { class: "visually-hidden" }, "Held batches and their release"),
          h("thead", {}, h("tr", {}, ...["Batch", "People", "Held", "Release", ""].map((c) => h("th", { scope: "col", class: c === "People" || c === "Held" ? "num" : undefined }, c)))),
          h(
            "tbody",
            {},
            ...rows.map((r) =>
              h(
                "tr",
                { "data-batch": r.batchId },
                h("th", { scope: "row" }, r.batchId),
                h("td", { class: "num" }, n(r.people)),
                h("td", { class: "num", "data-held": r.held }, n(r.held)),
                h("td", { class: "release-state" }, releaseText(r.release, r.held, now)),
                h("td", {}, r.held > 0 ? h("button", { type: "button", class: "release-open", onclick: (e: Event) => this.openRelease(r, e.currentTarget as HTMLButtonElement) }, r.release ? "Change release…" : "Release…") : null),
              ),
            ),
          ),
        ),
      ),
    );
  }

  /** The release form for one batch, under its row. */
  private openRelease(row: BatchRow, opener: HTMLButtonElement): void {
    this.batches.querySelector(".release-form")?.closest("tr")?.remove();
    const nowId = uid("rel-now");
    const atId = uid("rel-at");
    const whenId = uid("rel-when");
    const capId = uid("rel-cap");
    const msgId = uid("rel-msg");
    const now = h("input", { type: "radio", name: "release-when", id: nowId, value: "now", checked: true });
    const later = h("input", { type: "radio", name: "release-when", id: atId, value: "at" });
    const at = h("input", { type: "datetime-local", id: whenId, disabled: true, "aria-describedby": msgId });
    const cap = h("input", { type: "number", id: capId, min: 1, step: 1, class: "short", inputmode: "numeric", "aria-describedby": msgId });
    const msg = h("span", { id: msgId, class: "field-msg" }, `Times are in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}). Leave the cap empty to invite everyone at once.`);
    const sync = () => {
      at.disabled = !later.checked;
      if (later.checked && !at.value) at.value = localInput(new Date(Date.now() + 3600_000));
    };
    now.addEventListener("change", sync);
    later.addEventListener("change", sync);
    const close = () => {
      form.closest("tr")?.remove();
      opener.focus();
    };
    const form = h(
      "form",
      { class: "release-form", novalidate: true, "aria-label": `Release batch ${row.batchId}` },
      h(
        "fieldset",
        {},
        h("legend", {}, `Release ${row.batchId} (${n(row.held)} held)`),
        h("div", { class: "check" }, now, h("label", { for: nowId }, "Now")),
        h("div", { class: "check" }, later, h("label", { for: atId }, "From a date and time:"), h("label", { for: whenId, class: "visually-hidden" }, "Release from"), at),
        h("div", { class: "field inline" }, h("label", { for: capId }, "At most this many people a day (optional)"), cap),
        msg,
      ),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", "data-release": "submit" }, "Release"), h("button", { type: "button", onclick: close }, "Cancel")),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const perDay = cap.value.trim() ? Number(cap.value) : undefined;
      if (perDay !== undefined && !(Number.isInteger(perDay) && perDay >= 1)) {
        msg.textContent = "The daily cap must be a whole number of at least 1.";
        msg.classList.add("error");
        cap.setAttribute("aria-invalid", "true");
        cap.focus();
        return;
      }
      let iso: string | undefined;
      if (later.checked) {
        const d = new Date(at.value);
        if (!at.value || Number.isNaN(d.getTime())) {
          msg.textContent = "Choose the date and time to release from.";
          msg.classList.add("error");
          at.setAttribute("aria-invalid", "true");
          at.focus();
          return;
        }
        iso = d.toISOString();
      }
      void this.release(row, iso, perDay, close);
    });
    const tr = opener.closest("tr");
    const formRow = h("tr", { class: "release-row" }, h("td", { colspan: 5 }, form));
    tr?.after(formRow);
    now.focus();
  }

  private async release(row: BatchRow, at: string | undefined, perDay: number | undefined, close: () => void): Promise<void> {
    const whenText = at ? `from ${when(at)}` : "now";
    const capText = perDay ? `, at most ${n(perDay)} people a day` : ", everyone at once";
    const yes = await confirmAction({
      title: `Release batch ${row.batchId}?`,
      body: [
        `${n(row.held)} held ${row.held === 1 ? "person" : "people"} will be invited ${whenText}${capText}.`,
        row.release && !row.release.done ? `This replaces the current release (${releaseText(row.release, row.held, new Date(this.campaign?.generatedAt ?? Date.now()))}); its count starts again.` : "",
        this.campaign?.paused ? "The campaign is paused: nobody is emailed until you resume it." : "",
      ].filter(Boolean),
      confirm: at ? "Schedule the release" : "Release now",
    });
    if (!yes) return;
    try {
      const a = await this.api.release(row.batchId, { at, perDay });
      close();
      fill(
        this.result,
        h(
          "p",
          { class: "result ok", "data-result": "released" },
          `Batch ${a.batchId} released ${at ? `from ${when(a.at)}` : "now"}: ${n(a.held)} ${a.held === 1 ? "person" : "people"}${a.perDay ? `, at most ${n(a.perDay)} a day` : ""}. `,
          at ? "Invitations start with the first run after that time." : a.invitationsStarted ? "Invitations have started." : "Invitations go out with the next run.",
        ),
      );
      this.onChanged();
    } catch (e) {
      fill(this.result, h("p", { class: "result bad", "data-result": "refused" }, `The release was refused: ${message(e)}`));
    }
    await this.load();
  }

  private async toggle(): Promise<void> {
    const c = this.campaign;
    if (!c || this.busy) return;
    const pausing = !c.paused;
    const yes = await confirmAction(
      pausing
        ? {
            title: "Pause the campaign?",
            body: ["No email of any kind (invitations, reminders, escalations, reports) leaves until you resume. A run already going stops before its next send.", "Links, opens, clicks and registrations keep working."],
            confirm: "Pause the campaign",
            danger: true,
          }
        : {
            title: "Resume the campaign?",
            body: [`Emails go out again from the next run. Due times move by the pause (since ${when(c.pausedSince)}), so nobody gets a burst of late reminders.`],
            confirm: "Resume the campaign",
          },
    );
    if (!yes) return;
    this.busy = true;
    this.switchButton.disabled = true;
    try {
      this.campaign = await this.api.setPaused(pausing);
      this.busy = false;
      this.renderSending();
      fill(this.result, h("p", { class: "result ok", "data-result": pausing ? "paused" : "resumed" }, pausing ? "The campaign is paused." : "The campaign is running again."));
    } catch (e) {
      // 409: someone else paused or resumed it meanwhile; the reload shows the state.
      fill(this.result, h("p", { class: "result bad", "data-result": "refused" }, `Refused: ${message(e)}`));
    } finally {
      this.busy = false;
    }
    await this.load();
    this.switchButton.focus();
  }
}

/** A Date as the value of a `datetime-local` input (local time, minutes). */
function localInput(d: Date): string {
  const p = (v: number) => String(v).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
