// The live dashboard: summary cards, funnel, counts by status, activity over time, batch
// completion, people needing attention (as filters), and the paged people table with export.
// All aggregation and paging happen on the server, so 100,000 people cost the same as 100.

import { Api, ApiError, type Funnel, type PeopleFilter, type PersonRecord, type Report } from "./api";
import { activityChart, band, funnelChart, statusBars } from "./charts";
import type { PortalConfig } from "./config";
import { directoryContent } from "./directory";
import { fill, h, uid } from "./dom";
import { n, pct, STATUSES, statusLabel, when } from "./format";
import { personHref } from "./person";

const ATTENTION: [string, string][] = [
  ["notClicked", "Invited, no click"],
  ["clickedNotRegistered", "Clicked, not registered"],
  ["escalated", "Escalated to manager"],
  ["errors", "Errors"],
  ["queued", "Queued by mail limits"],
  ["held", "Held: waiting for their batch's release"],
  ["excluded", "Excluded by an admin"],
];

const PAGE_SIZES = [25, 50, 100, 200];

type AttentionCounts = Record<string, number>;

export class Dashboard {
  el: HTMLElement;
  private report: Report | null = null;
  private filter: PeopleFilter = {};
  private page = 0;
  private pageSize = 50;
  private total = 0;
  private timer: number | undefined;
  private loadingReport = false;
  private reportSeq = 0;
  private usersSeq = 0;
  private shown = false;

  private batchSelect: HTMLSelectElement;
  private staleInput: HTMLInputElement;
  private autoRefresh: HTMLInputElement;
  private updated: HTMLElement;
  private detection: HTMLElement;
  private cards: HTMLElement;
  private funnel: HTMLElement;
  private statuses: HTMLElement;
  private activity: HTMLElement;
  private batches: HTMLElement;
  private attention: HTMLElement;
  private directory: HTMLElement;
  private directoryCard: HTMLElement;
  private search: HTMLInputElement;
  private statusSelect: HTMLSelectElement;
  private attentionSelect: HTMLSelectElement;
  private tableBody: HTMLTableSectionElement;
  private tableStatus: HTMLElement;
  private pager: HTMLElement;
  private exportButton: HTMLButtonElement;
  private exportStatus: HTMLElement;
  private error: HTMLElement;
  private runStatus: HTMLElement;

  constructor(
    private api: Api,
    private cfg: PortalConfig,
    /** Called on every refresh (the campaign banner follows the dashboard). */
    private onRefresh: () => void = () => {},
  ) {
    const batchId = uid("batch-filter");
    this.batchSelect = h("select", { id: batchId }, h("option", { value: "" }, "All batches"));
    this.batchSelect.addEventListener("change", () => {
      this.filter.batchId = this.batchSelect.value || undefined;
      this.page = 0;
      void this.refresh();
    });
    const staleId = uid("stale");
    this.staleInput = h("input", { id: staleId, type: "number", min: 1, max: 365, value: cfg.staleDays, class: "short" });
    this.staleInput.addEventListener("change", () => void this.refresh());
    const autoId = uid("auto");
    this.autoRefresh = h("input", { id: autoId, type: "checkbox", checked: cfg.refreshSeconds > 0, disabled: cfg.refreshSeconds === 0 });
    this.autoRefresh.addEventListener("change", () => this.schedule());
    this.updated = h("span", { class: "muted", id: "updated" }, "");
    this.detection = h("p", { class: "muted", id: "detection" }, "");
    this.error = h("div", { role: "alert", id: "dashboard-error" });
    this.runStatus = h("span", { role: "status", class: "muted", id: "run-status" });

    this.cards = h("div", { class: "cards", id: "cards" });
    this.funnel = h("div", { id: "funnel" });
    this.statuses = h("div", {});
    this.activity = h("div", {});
    this.batches = h("div", { id: "batches" });
    this.attention = h("div", { id: "attention" });
    this.directory = h("div", { id: "directory" });
    this.directoryCard = h("section", { class: "card", "aria-labelledby": "h-directory", hidden: true }, h("h3", { id: "h-directory" }, "Directory enrolment"), this.directory);

    const searchId = uid("search");
    this.search = h("input", { id: searchId, type: "search", placeholder: "UPN or name", autocomplete: "off" });
    let debounce: number | undefined;
    this.search.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = window.setTimeout(() => this.setFilter({ search: this.search.value.trim() || undefined }), 300);
    });
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        clearTimeout(debounce);
        this.setFilter({ search: this.search.value.trim() || undefined });
      }
    });
    const statusId = uid("status");
    this.statusSelect = h("select", { id: statusId }, h("option", { value: "" }, "Any status"), ...STATUSES.map((st) => h("option", { value: st }, statusLabel(st))));
    this.statusSelect.addEventListener("change", () => this.setFilter({ status: this.statusSelect.value || undefined }));
    const attId = uid("attention");
    this.attentionSelect = h("select", { id: attId }, h("option", { value: "" }, "Everyone"), ...ATTENTION.map(([v, l]) => h("option", { value: v }, l)));
    this.attentionSelect.addEventListener("change", () => this.setFilter({ attention: this.attentionSelect.value || undefined }));
    const sizeId = uid("size");
    const sizeSelect = h("select", { id: sizeId }, ...PAGE_SIZES.map((p) => h("option", { value: p, selected: p === this.pageSize }, String(p))));
    sizeSelect.addEventListener("change", () => {
      this.pageSize = Number(sizeSelect.value);
      this.page = 0;
      void this.loadUsers();
    });
    this.exportButton = h("button", { type: "button", id: "export", onclick: () => void this.exportCsv() }, "Export CSV");
    this.exportStatus = h("span", { role: "status", class: "muted", id: "export-status" });
    this.tableBody = h("tbody", {});
    this.tableStatus = h("p", { role: "status", id: "table-status", class: "muted" });
    this.pager = h("nav", { class: "pager", "aria-label": "Pages of people" });

    const cols = ["UPN", "Name", "Department", "Status", "In group", "MFA", "Invited", "Clicked", "Reminders", "Escalated", "Batch", "Error"];
    this.el = h(
      "section",
      { class: "panel" },
      h("h2", { class: "visually-hidden" }, "Dashboard"),
      h(
        "div",
        { class: "toolbar" },
        h("div", { class: "field inline" }, h("label", { for: batchId }, "Batch"), this.batchSelect),
        h("div", { class: "field inline" }, h("label", { for: staleId }, "Not clicked after (days)"), this.staleInput),
        h("button", { type: "button", id: "refresh", onclick: () => void this.refresh() }, "Refresh"),
        h("div", { class: "check" }, this.autoRefresh, h("label", { for: autoId }, `Auto-refresh every ${cfg.refreshSeconds || 30} s`)),
        h("button", { type: "button", id: "run-invitations", onclick: (e: Event) => void this.runInvitations(e.currentTarget as HTMLButtonElement) }, "Send pending invitations now"),
        this.updated,
        this.runStatus,
      ),
      this.error,
      this.cards,
      this.detection,
      h(
        "div",
        { class: "grid" },
        h("section", { class: "card", "aria-labelledby": "h-funnel" }, h("h3", { id: "h-funnel" }, "Funnel"), this.funnel),
        h("section", { class: "card", "aria-labelledby": "h-status" }, h("h3", { id: "h-status" }, "People by status"), this.statuses),
        h("section", { class: "card", "aria-labelledby": "h-activity" }, h("h3", { id: "h-activity" }, "Activity, last 14 days"), this.activity),
        h("section", { class: "card", "aria-labelledby": "h-attention" }, h("h3", { id: "h-attention" }, "Needing attention"), this.attention),
      ),
      h("section", { class: "card", "aria-labelledby": "h-batches" }, h("h3", { id: "h-batches" }, "Completion by batch"), this.batches),
      this.directoryCard,
      h(
        "section",
        { class: "card", "aria-labelledby": "h-people" },
        h("h3", { id: "h-people" }, "People"),
        h(
          "div",
          { class: "toolbar", role: "search" },
          h("div", { class: "field inline grow" }, h("label", { for: searchId }, "Search"), this.search),
          h("div", { class: "field inline" }, h("label", { for: statusId }, "Status"), this.statusSelect),
          h("div", { class: "field inline" }, h("label", { for: attId }, "Attention"), this.attentionSelect),
          h("div", { class: "field inline" }, h("label", { for: sizeId }, "Per page"), sizeSelect),
          this.exportButton,
          this.exportStatus,
        ),
        this.tableStatus,
        h(
          "div",
          { class: "scroll" },
          h("table", { class: "people", id: "people-table" }, h("caption", { class: "visually-hidden" }, "People matching the filter"), h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", { scope: "col" }, c)))), this.tableBody),
        ),
        this.pager,
      ),
    );
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.shown) void this.refresh();
    });
  }

  /** Called when the dashboard tab is shown. */
  show(): void {
    this.shown = true;
    if (!this.report) void this.refresh();
    this.schedule();
  }

  private schedule(): void {
    clearInterval(this.timer);
    if (this.autoRefresh.checked && this.cfg.refreshSeconds > 0) {
      this.timer = window.setInterval(() => {
        if (!document.hidden) void this.refresh();
      }, this.cfg.refreshSeconds * 1000);
    }
  }

  private setFilter(change: Partial<PeopleFilter>): void {
    this.filter = { ...this.filter, ...change };
    this.page = 0;
    this.statusSelect.value = this.filter.status ?? "";
    this.attentionSelect.value = this.filter.attention ?? "";
    this.renderAttention();
    void this.loadUsers();
  }

  private staleDays(): number {
    const v = Number(this.staleInput.value);
    return Number.isInteger(v) && v >= 1 && v <= 365 ? v : this.cfg.staleDays;
  }

  /** Reloads the summary and the current page of people. */
  async refresh(): Promise<void> {
    this.onRefresh();
    await Promise.all([this.loadReport(), this.loadUsers()]);
  }

  private attentionCounts: AttentionCounts = {};
  private batchStatus: Record<string, number> | null = null;

  private async loadReport(): Promise<void> {
    if (this.loadingReport) return;
    this.loadingReport = true;
    const seq = ++this.reportSeq;
    try {
      const report = await this.api.report(this.staleDays());
      const batch = this.filter.batchId;
      let attention: AttentionCounts = { ...report.needingAttention, held: report.summary.held ?? 0, excluded: report.summary.excluded ?? 0 };
      let byStatus: Record<string, number> | null = null;
      if (batch) {
        // The report aggregates everyone; for one batch, ask the server for counts (no rows).
        const staleDays = this.staleDays();
        const [att, st] = await Promise.all([
          Promise.all(ATTENTION.map(([a]) => this.api.count({ batchId: batch, attention: a, staleDays }))),
          Promise.all(STATUSES.map((st) => this.api.count({ batchId: batch, status: st }))),
        ]);
        attention = Object.fromEntries(ATTENTION.map(([a], i) => [a, att[i]!]));
        byStatus = Object.fromEntries(STATUSES.map((s2, i) => [s2, st[i]!]));
      }
      if (seq !== this.reportSeq) return;
      this.report = report;
      this.attentionCounts = attention;
      this.batchStatus = byStatus;
      fill(this.error);
      this.render();
    } catch (e) {
      this.showError(e);
    } finally {
      this.loadingReport = false;
    }
  }

  private showError(e: unknown): void {
    const msg = e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
    fill(this.error, h("p", { class: "result bad" }, `Could not load the dashboard: ${msg}`));
  }

  private render(): void {
    const r = this.report;
    if (!r) return;
    const batch = this.filter.batchId;
    // Batch options: keep the selection even if the batch vanished.
    const current = this.batchSelect.value;
    fill(
      this.batchSelect,
      h("option", { value: "" }, "All batches"),
      ...r.summary.byBatch.map((b) => h("option", { value: b.batchId, selected: b.batchId === current }, `${b.batchId} (${n(b.uploaded)})`)),
    );
    this.batchSelect.value = current;
    const f: Funnel = batch ? (r.summary.byBatch.find((b) => b.batchId === batch) ?? { uploaded: 0, sent: 0, opened: 0, clicked: 0, inGroup: 0, active: 0 }) : r.summary.funnel;
    const card = (id: string, label: string, value: string, sub?: string) =>
      h("div", { class: "kpi", "data-kpi": id }, h("span", { class: "kpi-label" }, label), h("span", { class: "kpi-value" }, value), sub ? h("span", { class: "kpi-sub" }, sub) : null);
    fill(
      this.cards,
      card("uploaded", batch ? `People in ${batch}` : "People", n(f.uploaded)),
      card("complete", "MFA registered", pct(f.active, f.uploaded), `${n(f.active)} of ${n(f.uploaded)}`),
      card("inGroup", "In the CA group", n(f.inGroup)),
      card("escalated", "Escalated", n(this.attentionCounts.escalated ?? r.summary.escalated)),
      card("errors", "Errors", n(this.attentionCounts.errors ?? r.summary.errors)),
      card("queued", "Queued (mail limits)", n(this.attentionCounts.queued ?? r.summary.queued)),
      card("held", "Held (not released)", n(this.attentionCounts.held ?? r.summary.held ?? 0)),
    );
    fill(this.funnel, funnelChart(f));
    fill(this.statuses, statusBars(this.batchStatus ?? r.summary.byStatus, STATUSES, statusLabel));
    fill(this.activity, activityChart(r.summary.byDay, new Date(r.generatedAt)), batch ? h("p", { class: "muted" }, "Activity is shown for all batches.") : null);
    this.renderAttention();
    this.renderBatches(r);
    const directory = directoryContent(r.summary.directory, r.pilot);
    this.directoryCard.hidden = directory === null;
    fill(this.directory, directory);
    this.updated.textContent = `Updated ${when(r.generatedAt)}`;
    this.detection.textContent = detectionText(r);
  }

  private renderAttention(): void {
    const counts = this.attentionCounts;
    const days = this.report?.needingAttention.staleDays ?? this.staleDays();
    fill(
      this.attention,
      h(
        "ul",
        { class: "attention" },
        ...ATTENTION.map(([key, label]) => {
          const on = this.filter.attention === key;
          return h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "attention-filter",
                "data-attention": key,
                "aria-pressed": String(on),
                onclick: () => this.setFilter({ attention: on ? undefined : key }),
              },
              h("span", { class: "count" }, n(counts[key] ?? 0)),
              h("span", {}, key === "notClicked" ? `Invited over ${days} day${days === 1 ? "" : "s"} ago, no click` : label),
            ),
          );
        }),
      ),
      h("p", { class: "muted" }, "Choose one to filter the people table."),
      this.errorReasons(),
      this.readiness(),
    );
  }

  /** People by method strength, with the phone-only people Microsoft blocks at sign-in from
   * 1 February 2027, by department, and Microsoft's own registration campaign. */
  private readiness(): HTMLElement | null {
    const by = this.report?.summary.byStrength;
    if (!by || this.filter.batchId) return null;
    const rows: [string, string][] = [
      ["phishing-resistant", "Phishing-resistant (passkey, security key, Windows Hello)"],
      ["app", "App (Authenticator push, OATH)"],
      ["phone-only", "Phone only: blocked on 1 February 2027 if nothing changes"],
      ["none", "No method"],
      ["unknown", "Not read yet"],
    ];
    const departments = this.report?.summary.phoneOnlyByDepartment ?? [];
    const campaign = this.report?.registrationCampaign;
    const tenant = this.report?.tenantStrength;
    const wide = tenant?.byStrength;
    return h(
      "div",
      { id: "strength-readiness" },
      h(
        "table",
        { class: "compact" },
        h("caption", {}, "Method strength"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col", class: "num" }, "Tracked"),
            wide ? h("th", { scope: "col", class: "num" }, "Tenant-wide") : null,
            h("th", { scope: "col" }, "Strongest method"),
          ),
        ),
        h(
          "tbody",
          {},
          ...rows.map(([key, label]) =>
            h(
              "tr",
              { "data-strength": key },
              h("td", { class: "num" }, n(by[key] ?? 0)),
              wide ? h("td", { class: "num", "data-tenant": key }, key === "unknown" ? "–" : n(wide[key] ?? 0)) : null,
              h("td", {}, label),
            ),
          ),
        ),
      ),
      tenant
        ? h(
            "p",
            { class: "muted", id: "tenant-strength" },
            wide
              ? `Tenant-wide: every enabled member account, from the registration report${tenant.at ? ` of ${tenant.at.slice(0, 10)}` : ""}.`
              : `Tenant-wide: unknown (${tenant.unknown ?? "not read yet"}).`,
          )
        : null,
      departments.length
        ? h(
            "p",
            { class: "muted", id: "phone-only-departments" },
            "Phone only, by department: ",
            departments.map((d) => `${d.reason} ${n(d.count)}`).join(" · "),
          )
        : null,
      campaign
        ? h(
            "p",
            { class: "muted", id: "registration-campaign" },
            "Microsoft's registration campaign: ",
            campaign.state
              ? `${campaign.state}${campaign.snoozeDays ? ` (snooze ${campaign.snoozeDays} days)` : ""}`
              : `unknown (${campaign.unknown ?? "not read yet"})`,
          )
        : null,
    );
  }

  /** Errors grouped by reason with counts (everyone, not one batch), like the report email. */
  private errorReasons(): HTMLElement | null {
    const reasons = this.report?.summary.errorReasons ?? [];
    if (!reasons.length || this.filter.batchId) return null;
    const grouped = reasons.reduce((sum, r) => sum + r.count, 0);
    const rest = (this.report?.summary.errors ?? grouped) - grouped;
    return h(
      "table",
      { id: "error-reasons", class: "compact" },
      h("caption", {}, "Errors by reason"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "num" }, "People"), h("th", { scope: "col" }, "Reason"))),
      h(
        "tbody",
        {},
        ...reasons.map((r) => h("tr", {}, h("td", { class: "num" }, n(r.count)), h("td", {}, r.reason))),
        rest > 0 ? h("tr", {}, h("td", { class: "num" }, n(rest)), h("td", { class: "muted" }, "other reasons")) : null,
      ),
    );
  }

  private renderBatches(r: Report): void {
    const rows = r.summary.byBatch;
    if (!rows.length) {
      fill(this.batches, h("p", { class: "muted" }, "No uploads yet."));
      return;
    }
    fill(
      this.batches,
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { class: "batches", id: "batch-table" },
          h("caption", { class: "visually-hidden" }, "Completion by batch"),
          h("thead", {}, h("tr", {}, ...["Batch", "People", "Sent", "Clicked", "In group", "Registered", "Complete"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            {},
            ...rows.map((b) => {
              const p = b.uploaded ? (b.active * 100) / b.uploaded : 0;
              const bd = band(p);
              const fillEl = h("span", { class: `fill ${bd.cls}` });
              fillEl.style.width = `${Math.min(100, p)}%`;
              return h(
                "tr",
                { "data-batch": b.batchId },
                h("th", { scope: "row" }, h("button", { type: "button", class: "link", onclick: () => this.selectBatch(b.batchId) }, b.batchId)),
                h("td", { class: "num" }, n(b.uploaded)),
                h("td", { class: "num" }, n(b.sent)),
                h("td", { class: "num" }, n(b.clicked)),
                h("td", { class: "num" }, n(b.inGroup)),
                h("td", { class: "num" }, n(b.active)),
                h("td", { class: "completion" }, h("span", { class: "meter", "aria-hidden": "true" }, fillEl), h("span", { class: `band ${bd.cls}` }, `${pct(b.active, b.uploaded)} · ${bd.word}`)),
              );
            }),
          ),
        ),
      ),
      h("p", { class: "muted" }, "Bands: 80% and over on track, 50–79% behind, under 50% at risk."),
    );
  }

  private selectBatch(batchId: string): void {
    this.batchSelect.value = batchId;
    this.filter.batchId = batchId;
    this.page = 0;
    void this.refresh();
    this.batchSelect.focus();
  }

  private async loadUsers(): Promise<void> {
    const seq = ++this.usersSeq;
    this.tableStatus.textContent = "Loading…";
    try {
      const page = await this.api.users({ ...this.filter, staleDays: this.staleDays() }, this.page, this.pageSize);
      if (seq !== this.usersSeq) return;
      this.total = page.total;
      fill(this.tableBody, ...(page.items.length ? page.items.map((p) => this.row(p)) : [h("tr", {}, h("td", { colspan: 12, class: "muted" }, "Nobody matches this filter."))]));
      const from = page.total ? this.page * this.pageSize + 1 : 0;
      const to = Math.min(page.total, (this.page + 1) * this.pageSize);
      this.tableStatus.textContent = `${n(page.total)} ${page.total === 1 ? "person" : "people"} match; showing ${n(from)}–${n(to)}.`;
      this.renderPager();
    } catch (e) {
      if (seq !== this.usersSeq) return;
      this.tableStatus.textContent = `Could not load people: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private row(p: PersonRecord): HTMLTableRowElement {
    return h(
      "tr",
      { "data-upn": p.upn },
      h("td", { class: "upn" }, h("a", { href: personHref(p.upn), title: `Open ${p.upn}'s page` }, p.upn)),
      h("td", {}, p.displayName ?? ""),
      h("td", {}, p.department ?? ""),
      h(
        "td",
        {},
        h("span", { class: `pill status-${p.inviteStatus}` }, statusLabel(p.inviteStatus)),
        p.hold ? h("span", { class: `pill hold-${p.hold}`, "data-hold": p.hold }, p.hold) : null,
      ),
      h("td", {}, p.inGroup ? "Yes" : "No"),
      h("td", {}, p.mfaRegistrationState),
      h("td", {}, when(p.inviteSentDate)),
      h("td", {}, when(p.clickedLinkDate)),
      h("td", { class: "num" }, String(p.reminderCount)),
      h("td", {}, p.escalatedToManager ? `Yes, ${when(p.escalationDate)}` : "No"),
      h("td", {}, p.sourceBatchId),
      h("td", { class: "error-text" }, p.errorDetails ?? ""),
    );
  }

  private renderPager(): void {
    const pages = Math.max(1, Math.ceil(this.total / this.pageSize));
    const go = (p: number) => {
      this.page = Math.max(0, Math.min(pages - 1, p));
      void this.loadUsers();
    };
    fill(
      this.pager,
      h("button", { type: "button", onclick: () => go(0), disabled: this.page === 0 }, "First"),
      h("button", { type: "button", id: "prev-page", onclick: () => go(this.page - 1), disabled: this.page === 0 }, "Previous"),
      h("span", { "aria-current": "page" }, `Page ${n(this.page + 1)} of ${n(pages)}`),
      h("button", { type: "button", id: "next-page", onclick: () => go(this.page + 1), disabled: this.page >= pages - 1 }, "Next"),
      h("button", { type: "button", onclick: () => go(pages - 1), disabled: this.page >= pages - 1 }, "Last"),
    );
  }

  /** Starts the invitation pass now (the worker still keeps to the mail limits). */
  private async runInvitations(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.runStatus.textContent = "Starting the invitation run…";
    try {
      await this.api.run(["invitation"]);
      this.runStatus.textContent = "Invitation run finished.";
      void this.refresh();
    } catch (e) {
      this.runStatus.textContent = `Could not start the run: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      button.disabled = false;
    }
  }

  private async exportCsv(): Promise<void> {
    this.exportButton.disabled = true;
    this.exportStatus.textContent = "Preparing the export…";
    try {
      const { blob, fileName } = await this.api.export({ ...this.filter, staleDays: this.staleDays() });
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: fileName, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.exportStatus.textContent = `Downloaded ${fileName}.`;
    } catch (e) {
      this.exportStatus.textContent = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.exportButton.disabled = false;
    }
  }
}

/** Which detection the check pass used, and what reconciliation found that events missed. */
function detectionText(r: Report): string {
  const d = r.detection;
  const names: Record<string, string> = { events: "directory audit events", report: "registration report", "per-user": "per-user method reads" };
  if (!d?.mode) return "Registration detection: not checked yet";
  let text = `Registration detection: ${names[d.mode] ?? d.mode}`;
  const rec = d.reconciliation;
  if (d.mode === "events" && rec?.lastAt) {
    text += ` · last reconciliation ${when(rec.lastAt)} (${rec.source ?? "?"}) found ${n(rec.lastFound)} the events missed (${n(rec.totalFound)} in total)`;
  }
  return text;
}
