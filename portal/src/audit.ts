// The Audit tab: every admin action (uploads, releases, pauses, person actions, runs) with who,
// when, from where and what, newest first, paged on the server; filtered by target; and the
// whole log as CSV. The log cannot be changed through the API.

import { Api, ApiError, AUDIT_CSV, type AuditEntry } from "./api";
import { fill, h, uid } from "./dom";
import { n, when } from "./format";
import { personHref } from "./person";

const PAGE_SIZE = 25;

export class AuditPanel {
  el: HTMLElement;
  private page = 0;
  private total = 0;
  private seq = 0;
  private target: HTMLInputElement;
  private body: HTMLTableSectionElement;
  private status: HTMLElement;
  private pager: HTMLElement;
  private exportStatus: HTMLElement;

  constructor(
    private api: Api,
    base: string,
  ) {
    const targetId = uid("audit-target");
    this.target = h("input", { id: targetId, type: "search", placeholder: "a batch id or a UPN", autocomplete: "off" });
    this.target.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.filter();
      }
    });
    this.target.addEventListener("search", () => this.filter());
    this.body = h("tbody", {});
    this.status = h("p", { role: "status", class: "muted", id: "audit-status" });
    this.pager = h("nav", { class: "pager", "aria-label": "Pages of the audit log" });
    this.exportStatus = h("span", { role: "status", class: "muted", id: "audit-export-status" });
    const csv = h("a", { href: base + AUDIT_CSV, id: "audit-export", class: "button", download: "" }, "Export CSV");
    // Fetched with the bearer token (a plain link would carry none in Entra mode).
    csv.addEventListener("click", (e) => {
      e.preventDefault();
      void this.exportCsv();
    });
    this.el = h(
      "section",
      { class: "panel" },
      h("h2", {}, "Audit log"),
      h("p", { class: "muted" }, "Every admin action, newest first: who (the signed-in admin), when, from which address, what, and on what. Entries cannot be changed or deleted."),
      h(
        "div",
        { class: "toolbar", role: "search" },
        h("div", { class: "field inline grow" }, h("label", { for: targetId }, "Target (exact)"), this.target),
        h("button", { type: "button", id: "audit-filter", onclick: () => this.filter() }, "Filter"),
        h("button", { type: "button", id: "audit-refresh", onclick: () => void this.load() }, "Refresh"),
        csv,
        this.exportStatus,
      ),
      this.status,
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { id: "audit-table" },
          h("caption", { class: "visually-hidden" }, "Admin actions, newest first"),
          h("thead", {}, h("tr", {}, ...["Time", "Who", "From", "Action", "Target", "Detail"].map((c) => h("th", { scope: "col" }, c)))),
          this.body,
        ),
      ),
      this.pager,
    );
  }

  private filter(): void {
    this.page = 0;
    void this.load();
  }

  /** Called when the tab is shown: always fresh (actions happen on the other tabs). */
  show(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const seq = ++this.seq;
    this.status.textContent = "Loading…";
    try {
      const target = this.target.value.trim() || undefined;
      const page = await this.api.audit(this.page, PAGE_SIZE, target);
      if (seq !== this.seq) return;
      this.total = page.total;
      fill(this.body, ...(page.items.length ? page.items.map((e) => this.row(e)) : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No admin actions recorded."))]));
      const from = page.total ? this.page * PAGE_SIZE + 1 : 0;
      const to = Math.min(page.total, (this.page + 1) * PAGE_SIZE);
      this.status.textContent = `${n(page.total)} ${page.total === 1 ? "entry" : "entries"}; showing ${n(from)}–${n(to)}.`;
      this.renderPager();
    } catch (e) {
      if (seq !== this.seq) return;
      this.status.textContent = `Could not load the audit log: ${e instanceof ApiError || e instanceof Error ? e.message : String(e)}`;
    }
  }

  private row(e: AuditEntry): HTMLTableRowElement {
    const target = e.target ?? "";
    return h(
      "tr",
      { "data-action": e.action },
      h("td", { class: "nowrap" }, when(e.at)),
      h("td", { "data-field": "actor" }, e.actor),
      h("td", {}, e.origin ?? "—"),
      h("td", {}, h("code", {}, e.action)),
      h("td", {}, target.includes("@") ? h("a", { href: personHref(target) }, target) : target),
      h("td", {}, e.detail ?? ""),
    );
  }

  private renderPager(): void {
    const pages = Math.max(1, Math.ceil(this.total / PAGE_SIZE));
    const go = (p: number) => {
      this.page = Math.max(0, Math.min(pages - 1, p));
      void this.load();
    };
    fill(
      this.pager,
      h("button", { type: "button", id: "audit-prev", onclick: () => go(this.page - 1), disabled: this.page === 0 }, "Previous"),
      h("span", { "aria-current": "page" }, `Page ${n(this.page + 1)} of ${n(pages)}`),
      h("button", { type: "button", id: "audit-next", onclick: () => go(this.page + 1), disabled: this.page >= pages - 1 }, "Next"),
    );
  }

  private async exportCsv(): Promise<void> {
    this.exportStatus.textContent = "Preparing the export…";
    try {
      const { blob, fileName } = await this.api.auditCsv();
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: fileName, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.exportStatus.textContent = `Downloaded ${fileName}.`;
    } catch (e) {
      this.exportStatus.textContent = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}
