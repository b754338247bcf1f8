// The Preview tab: what the next run would send (a dry run: counts by kind and by batch, within
// the sending limits, and the passes' notes), and any email rendered for a chosen person with
// the template files it is made of. Nothing is stored or sent.

import { Api, ApiError, type MailKind, type Preview, type SampleEmail } from "./api";
import { fill, h, uid } from "./dom";
import { emailFrame } from "./emailframe";
import { n, when } from "./format";

const KINDS: [MailKind, string][] = [
  ["invitation", "Invitations"],
  ["reminder", "Reminders"],
  ["escalation", "Escalations"],
  ["report", "Report"],
];

const SINGULAR: Record<MailKind, string> = { invitation: "Invitation", reminder: "Reminder", escalation: "Escalation (to the manager)", report: "Report (to the report recipients)" };

function message(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

export class PreviewPanel {
  el: HTMLElement;
  private loaded = false;
  private seq = 0;
  private summary: HTMLElement;
  private kind: HTMLSelectElement;
  private upn: HTMLInputElement;
  private upnMsg: HTMLElement;
  private sample: HTMLElement;
  private refreshButton: HTMLButtonElement;

  constructor(private api: Api) {
    this.summary = h("div", { id: "preview-run", role: "status", "aria-live": "polite" });
    this.refreshButton = h("button", { type: "button", id: "preview-refresh", onclick: () => void this.load() }, "Preview the next run again");
    const kindId = uid("sample-kind");
    const upnId = uid("sample-upn");
    const upnMsgId = uid("sample-upn-msg");
    this.kind = h("select", { id: kindId, name: "kind" }, ...KINDS.map(([k]) => h("option", { value: k }, SINGULAR[k])));
    this.upn = h("input", { id: upnId, name: "upn", type: "email", autocomplete: "off", "aria-describedby": upnMsgId, placeholder: "someone@contoso.com" });
    this.upnMsg = h("span", { id: upnMsgId, class: "field-msg" }, "The person the email is about (not needed for the report).");
    this.kind.addEventListener("change", () => {
      this.upn.disabled = this.kind.value === "report";
    });
    this.sample = h("div", { id: "sample-email", role: "status", "aria-live": "polite" });
    const form = h(
      "form",
      { novalidate: true, id: "sample-form" },
      h(
        "div",
        { class: "toolbar" },
        h("div", { class: "field inline" }, h("label", { for: kindId }, "Email"), this.kind),
        h("div", { class: "field inline grow" }, h("label", { for: upnId }, "Person (UPN)"), this.upn, this.upnMsg),
        h("button", { type: "submit", class: "primary" }, "Show the email"),
      ),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.render();
    });
    this.el = h(
      "section",
      { class: "panel" },
      h("h2", {}, "Preview"),
      h(
        "section",
        { class: "card", "aria-labelledby": "h-next-run" },
        h("h3", { id: "h-next-run" }, "What the next run would send"),
        h("p", { class: "muted" }, "A dry run of the scheduled passes, within the sending limits. Nothing is stored or sent."),
        h("div", { class: "toolbar" }, this.refreshButton),
        this.summary,
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "h-sample" },
        h("h3", { id: "h-sample" }, "A sample email"),
        h("p", { class: "muted" }, "Rendered as it would be sent now, with the person's own link. Nothing in the preview is loaded or followed, so it does not count as opening or clicking."),
        form,
        this.sample,
      ),
    );
  }

  /** Called when the tab is shown: the dry run once (again on request). */
  show(): void {
    if (!this.loaded) void this.load();
  }

  /** Chooses the person of the sample email (from a person's page). */
  prefill(upn: string): void {
    this.upn.value = upn;
  }

  private async load(): Promise<void> {
    this.loaded = true;
    const seq = ++this.seq;
    this.refreshButton.disabled = true;
    fill(this.summary, h("p", { class: "muted" }, "Running the dry run…"));
    try {
      const p = await this.api.preview();
      if (seq === this.seq) this.renderRun(p);
    } catch (e) {
      if (seq === this.seq) fill(this.summary, h("p", { class: "result bad" }, `The preview failed: ${message(e)}`));
    } finally {
      if (seq === this.seq) this.refreshButton.disabled = false;
    }
  }

  private renderRun(p: Preview): void {
    const batches = Object.entries(p.byBatch).sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)));
    fill(
      this.summary,
      h("p", { class: "preview-total", id: "preview-total" }, h("strong", {}, `${n(p.total)} email${p.total === 1 ? "" : "s"}`), ` would be sent by a run now (${when(p.generatedAt)}).`),
      p.limitedBySending ? h("p", { class: "warning", id: "preview-limited" }, "The sending limits stop this run before everything due is sent; the rest goes out in later runs.") : null,
      h(
        "table",
        { id: "preview-kinds", class: "compact" },
        h("caption", {}, "By kind"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Kind"), h("th", { scope: "col", class: "num" }, "Emails"))),
        h("tbody", {}, ...KINDS.map(([k, label]) => h("tr", { "data-kind": k }, h("th", { scope: "row" }, label), h("td", { class: "num" }, n(p.byKind[k] ?? 0))))),
      ),
      batches.length
        ? h(
            "div",
            { class: "scroll" },
            h(
              "table",
              { id: "preview-batches" },
              h("caption", {}, "By batch"),
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Batch"), ...KINDS.map(([, label]) => h("th", { scope: "col", class: "num" }, label)))),
              h(
                "tbody",
                {},
                ...batches.map(([batch, kinds]) =>
                  h("tr", { "data-batch": batch }, h("th", { scope: "row" }, batch || "(not about one batch)"), ...KINDS.map(([k]) => h("td", { class: "num" }, n(kinds[k] ?? 0)))),
                ),
              ),
            ),
          )
        : null,
      p.notes.length ? h("div", { id: "preview-notes" }, h("h4", {}, "Notes"), h("ul", {}, ...p.notes.map((note) => h("li", {}, note)))) : null,
    );
  }

  private async render(): Promise<void> {
    const kind = this.kind.value as MailKind;
    const upn = this.upn.value.trim();
    if (kind !== "report" && !upn) {
      this.upn.setAttribute("aria-invalid", "true");
      this.upnMsg.textContent = "Enter the UPN of the person the email is about.";
      this.upnMsg.classList.add("error");
      this.upn.focus();
      return;
    }
    this.upn.removeAttribute("aria-invalid");
    this.upnMsg.textContent = "The person the email is about (not needed for the report).";
    this.upnMsg.classList.remove("error");
    fill(this.sample, h("p", { class: "muted" }, "Rendering…"));
    try {
      this.showSample(await this.api.sampleEmail(kind, kind === "report" ? undefined : upn));
    } catch (e) {
      const unknown = e instanceof ApiError && e.status === 404;
      fill(this.sample, h("p", { class: "result bad", "data-result": "refused" }, unknown ? `${upn} is not tracked: nobody to render the email for.` : `Could not render the email: ${message(e)}`));
    }
  }

  private showSample(s: SampleEmail): void {
    const { frame, prepared } = emailFrame(s.html, `Preview: ${s.subject}`);
    frame.id = "sample-frame";
    fill(
      this.sample,
      h(
        "dl",
        { class: "fields", id: "sample-headers" },
        h("dt", {}, "Subject"),
        h("dd", { "data-field": "subject" }, s.subject),
        h("dt", {}, "To"),
        h("dd", { "data-field": "to" }, s.to.join(", ") || "—"),
        h("dt", {}, "Templates"),
        h(
          "dd",
          { "data-field": "templates" },
          h("ul", { class: "templates", id: "sample-templates" }, ...s.templates.map((t) => h("li", { "data-source": t.source }, h("code", {}, t.file), ` — ${t.source === "override" ? "override (MFA_TEMPLATE_DIR)" : t.source}`))),
        ),
      ),
      frame,
      prepared.images ? h("p", { class: "muted" }, `${n(prepared.images)} image${prepared.images === 1 ? "" : "s"} not loaded in the preview (the tracking pixel would count as an open).`) : null,
      prepared.links.length
        ? h("details", { id: "sample-links" }, h("summary", {}, `Links in this email (${prepared.links.length})`), h("ul", {}, ...prepared.links.map((l) => h("li", {}, h("code", {}, l)))))
        : null,
      h("details", { id: "sample-text" }, h("summary", {}, "Plain-text version"), h("pre", { class: "email-text" }, s.text)),
    );
  }
}
