// The CSV upload section: drag-and-drop or file picker, an instant preview checked with the
// server's rules, batch id / send now / reset options, upload progress, and the server's report.

import { Api, ApiError, type UploadAnswer } from "./api";
import { batchIdProblem, checkCsv, decode, defaultBatchId, type CheckResult, type Problem } from "./csv";
import { fill, h, uid } from "./dom";
import { n } from "./format";
import { ImportsPanel } from "./imports";

/** Problems listed on screen (all are counted). */
const SHOWN_PROBLEMS = 200;

/** A table of problems: row, column, value, message. */
export function problemTable(problems: Problem[], caption: string, id?: string): HTMLTableElement {
  return h(
    "table",
    { class: "problems", id },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Row"), h("th", { scope: "col" }, "Column"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "Problem"))),
    h(
      "tbody",
      {},
      ...problems.map((p) =>
        h("tr", {}, h("td", { class: "num" }, p.row === 0 ? "file" : String(p.row)), h("td", {}, p.column), h("td", { class: "value" }, p.value), h("td", {}, p.message)),
      ),
    ),
  );
}

/** What "Send invitations now" means, said next to it: unticked holds the batch. */
const HELD_HINT = "Unticked: the batch is held; nobody is emailed until you release it on the Campaign tab.";
const SEND_HINT = "Ticked: invitations start as soon as the upload is stored (within the mail limits).";

/** The "Send invitations now" checkbox with its plain-words hint (used by both upload forms). */
export function sendNowOption(idPrefix: string): { input: HTMLInputElement; el: HTMLElement } {
  const id = uid(idPrefix);
  const hintId = uid(`${idPrefix}-hint`);
  const input = h("input", { type: "checkbox", id, name: "sendNow", "aria-describedby": hintId });
  const hint = h("p", { id: hintId, class: "field-msg send-hint", "data-hint": "held" }, HELD_HINT);
  input.addEventListener("change", () => {
    hint.textContent = input.checked ? SEND_HINT : HELD_HINT;
    hint.dataset.hint = input.checked ? "send" : "held";
  });
  return { input, el: h("div", { class: "option" }, h("div", { class: "check" }, input, h("label", { for: id }, "Send invitations now")), hint) };
}

/** The upload's parameters for the "Send invitations now" choice: unticked means held. */
export function sendOptions(sendNow: boolean): { sendNow: string; hold?: string } {
  return sendNow ? { sendNow: "true" } : { sendNow: "false", hold: "true" };
}

/** What happens to invitations after an upload, from the server's answer. */
function invitationsText(a: UploadAnswer): string {
  if (a.hold) return `Held: nobody is emailed until you release batch ${a.batchId ?? ""} on the Campaign tab.`;
  if (a.sendNow === "started") return "Invitations: sending has started.";
  if (a.sendNow === "not requested") return "Invitations: will go out with the next scheduled run.";
  return `Invitations: ${String(a.sendNow ?? "")}.`;
}

/** Renders the server's answer to an upload (used by the CSV and manual sections). */
export function renderAnswer(target: HTMLElement, status: number, a: UploadAnswer): void {
  if (a.ok && status === 202) {
    fill(
      target,
      h(
        "div",
        { class: "result ok", "data-result": "running" },
        h("h3", {}, `Upload accepted: batch ${a.batchId ?? ""}`),
        h("p", {}, `${n(a.rowsWritten)} of ${n(a.rows)} people written so far; the other ${n(a.rowsLeft)} are being written in the background. Progress is shown above and survives a page reload.`),
        ...(a.warnings ?? []).map((w) => h("p", { class: "warning" }, `Warning: ${w}`)),
        a.correlationId ? h("p", { class: "muted" }, `Import ${a.importId ?? ""}, correlation id ${a.correlationId}`) : null,
      ),
    );
    return;
  }
  if (status === 409) {
    fill(target, h("div", { class: "result bad", "data-result": "duplicate" }, h("h3", {}, "This file is being imported already"), h("p", {}, "Nothing new was stored. Its progress is shown above.")));
    return;
  }
  if (a.ok) {
    const parts: [string, number | undefined][] = [
      ["added", a.inserted],
      ["re-queued", a.requeued],
      ["reset", a.reset],
      ["unchanged", a.unchanged],
    ];
    fill(
      target,
      h(
        "div",
        { class: "result ok", "data-result": "ok" },
        h("h3", {}, `Upload stored: batch ${a.batchId ?? ""}`),
        h("ul", { class: "counts" }, ...parts.map(([label, v]) => h("li", {}, h("strong", {}, n(v ?? 0)), ` ${label}`))),
        h("p", { "data-invitations": a.hold ? "held" : "sent" }, invitationsText(a)),
        ...(a.warnings ?? []).map((w) => h("p", { class: "warning" }, `Warning: ${w}`)),
        a.skippedRows
          ? problemTable(
              a.skipped ?? [],
              `${n(a.skippedRows)} row${a.skippedRows === 1 ? "" : "s"} skipped, not stored${(a.skipped?.length ?? 0) < a.skippedRows ? " (the first ones listed)" : ""}`,
              "skipped-rows",
            )
          : null,
        a.correlationId ? h("p", { class: "muted" }, `Correlation id ${a.correlationId}`) : null,
      ),
    );
    return;
  }
  const errors = a.errors ?? [];
  const listed = status === 400 && errors.length > 0;
  fill(
    target,
    h(
      "div",
      { class: "result bad", "data-result": "refused" },
      // The heading says what happened; the server's sentence saying the same is not repeated.
      h("h3", {}, listed ? "The server refused the upload; nothing was stored" : "The upload failed"),
      listed ? h("p", {}, "Fix the rows listed and upload again.") : h("p", {}, a.error ?? `HTTP ${status}`),
      listed ? problemTable(errors, `${n(a.errorCount ?? errors.length)} problem(s)${a.truncated ? ", the first ones listed" : ""}`, "server-problems") : null,
    ),
  );
}

export class UploadPanel {
  el: HTMLElement;
  private file: File | null = null;
  private fileInput: HTMLInputElement;
  private batch: HTMLInputElement;
  private batchMsg: HTMLElement;
  private sendNow: HTMLInputElement;
  private reset: HTMLInputElement;
  private resetWarn: HTMLElement;
  private info: HTMLElement;
  private parseProgress: HTMLProgressElement;
  private preview: HTMLElement;
  private submit: HTMLButtonElement;
  private uploadProgress: HTMLProgressElement;
  private result: HTMLElement;
  private busy = false;
  /** Running imports, with progress (read again after a reload). */
  imports: ImportsPanel;

  constructor(
    private api: Api,
    private onUploaded: () => void,
  ) {
    this.imports = new ImportsPanel(api);
    void this.imports.refresh();
    const inputId = uid("csv-file");
    this.fileInput = h("input", { type: "file", id: inputId, accept: ".csv,text/csv,text/plain", class: "visually-hidden" });
    this.fileInput.addEventListener("change", () => {
      const f = this.fileInput.files?.[0];
      if (f) void this.load(f);
    });
    const drop = h(
      "div",
      { class: "dropzone", id: "dropzone" },
      h("p", {}, "Drag a CSV file here, or "),
      h("label", { for: inputId, class: "button" }, "Choose a CSV file"),
      this.fileInput,
      h("p", { class: "muted" }, "Columns: UPN (or UserPrincipalName, Email, Mail, EmailAddress, Title), optional DisplayName, Department, JobTitle. Comma or semicolon separated, UTF-8."),
    );
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const f = e.dataTransfer?.files?.[0];
      if (f) void this.load(f);
    });

    const batchId = uid("batch");
    const batchMsgId = uid("batch-msg");
    this.batch = h("input", { id: batchId, name: "batchId", value: defaultBatchId(), maxlength: 64, "aria-describedby": batchMsgId, autocomplete: "off" });
    this.batchMsg = h("span", { id: batchMsgId, class: "field-msg" }, "Default: the date and time (UTC).");
    this.batch.addEventListener("input", () => this.validateBatch());
    const sendNow = sendNowOption("send-now");
    this.sendNow = sendNow.input;
    const resetId = uid("reset");
    const resetWarnId = uid("reset-warn");
    this.reset = h("input", { type: "checkbox", id: resetId, name: "reset", "aria-describedby": resetWarnId });
    this.resetWarn = h(
      "p",
      { id: resetWarnId, class: "warning", hidden: true },
      "Reset restarts onboarding for people already on the list: their status goes back to Pending and reminder and escalation history is cleared. Leave this off to keep history (known people are only re-queued if they failed).",
    );
    this.reset.addEventListener("change", () => {
      this.resetWarn.hidden = !this.reset.checked;
    });

    this.info = h("div", { class: "file-info", id: "file-info" });
    this.parseProgress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Checking the file" });
    this.preview = h("div", { id: "preview" });
    this.submit = h("button", { type: "submit", class: "primary", id: "upload-button", disabled: true }, "Upload");
    this.uploadProgress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload progress", id: "upload-progress" });
    this.result = h("div", { id: "upload-result", role: "status", "aria-live": "polite", "aria-atomic": "true" });

    const form = h(
      "form",
      { novalidate: true },
      drop,
      this.info,
      this.parseProgress,
      h(
        "fieldset",
        { class: "options" },
        h("legend", {}, "Options"),
        h("div", { class: "field" }, h("label", { for: batchId }, "Batch id"), this.batch, this.batchMsg),
        sendNow.el,
        h("div", { class: "check" }, this.reset, h("label", { for: resetId }, "Reset existing people")),
        this.resetWarn,
      ),
      h("div", { class: "actions" }, this.submit, this.uploadProgress),
      this.result,
      this.preview,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.upload();
    });
    this.el = h("section", { class: "panel" }, h("h2", {}, "Upload people from a CSV file"), this.imports.el, form);
  }

  private validateBatch(): boolean {
    const why = batchIdProblem(this.batch.value);
    this.batch.setAttribute("aria-invalid", String(!!why));
    this.batchMsg.textContent = why ?? "Default: the date and time (UTC).";
    this.batchMsg.classList.toggle("error", !!why);
    return !why;
  }

  private async load(file: File): Promise<void> {
    this.file = file;
    this.submit.disabled = true;
    fill(this.result);
    fill(this.preview);
    fill(this.info, h("p", {}, `Checking ${file.name} (${n(file.size)} bytes)…`));
    this.parseProgress.hidden = false;
    this.parseProgress.value = 0;
    const decoded = decode(new Uint8Array(await file.arrayBuffer()));
    let result: CheckResult;
    if ("error" in decoded) {
      result = { delimiter: ",", headers: [], addressColumn: null, ignoredColumns: [], rows: 0, valid: 0, skippedEmpty: 0, problems: [{ row: 0, column: "", value: "", message: decoded.error }], problemCount: 1, preview: [] };
    } else {
      result = await checkCsv(decoded.text, {
        onProgress: (f, rows) => {
          this.parseProgress.value = f;
          this.info.firstElementChild!.textContent = `Checking ${file.name}: ${n(rows)} rows…`;
        },
      });
    }
    if (this.file !== file) return;
    this.parseProgress.hidden = true;
    this.renderCheck(file, result);
    this.submit.disabled = false;
  }

  private renderCheck(file: File, r: CheckResult): void {
    const withProblems = r.problemCount;
    fill(
      this.info,
      h(
        "p",
        { id: "preview-summary", class: withProblems ? "summary bad" : "summary ok" },
        h("strong", {}, file.name),
        `: ${n(r.rows)} people, ${n(r.valid)} valid, `,
        h("strong", {}, `${n(withProblems)} problem${withProblems === 1 ? "" : "s"}`),
        r.skippedEmpty ? `, ${n(r.skippedEmpty)} empty rows skipped` : "",
        r.addressColumn ? `. Address column: ${r.addressColumn}` : "",
        r.delimiter === ";" ? " (semicolon separated)" : r.delimiter === "\t" ? " (tab separated)" : "",
        ".",
      ),
      r.ignoredColumns.length ? h("p", { class: "warning" }, `Columns that will be ignored: ${r.ignoredColumns.join(", ")}`) : null,
      withProblems ? h("p", { class: "warning" }, "The server refuses a file with any problem and stores nothing; fix the rows listed, or upload the valid rows only.") : null,
      this.skipButton(r),
    );
    const parts: HTMLElement[] = [];
    if (r.problems.length) {
      const shown = r.problems.slice(0, SHOWN_PROBLEMS);
      parts.push(problemTable(shown, shown.length < r.problemCount ? `Problems (first ${n(shown.length)} of ${n(r.problemCount)})` : "Problems", "preview-problems"));
    }
    if (r.preview.length) {
      const headers = r.headers;
      parts.push(
        h(
          "div",
          { class: "scroll" },
          h(
            "table",
            { class: "preview", id: "preview-table" },
            h("caption", {}, `Preview: the first ${n(r.preview.length)} rows`),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Row"), ...headers.map((c) => h("th", { scope: "col" }, c)), h("th", { scope: "col" }, "Problems"))),
            h(
              "tbody",
              {},
              ...r.preview.map((row) => {
                const bad = new Set(row.problems.map((p) => p.column));
                return h(
                  "tr",
                  { class: row.problems.length ? "bad" : "", "data-row": row.row },
                  h("th", { scope: "row", class: "num" }, String(row.row)),
                  ...row.cells.map((c, i) => h("td", { class: bad.has(headers[i]!.trim()) ? "cell-bad" : "" }, c)),
                  h("td", {}, row.problems.length ? row.problems.map((p) => p.message).join("; ") : "OK"),
                );
              }),
            ),
          ),
        ),
      );
    }
    fill(this.preview, ...parts);
  }

  /** "Upload the N valid rows, skip M": an explicit choice, offered only when both exist. */
  private skipButton(r: CheckResult): HTMLElement | null {
    const invalid = r.rows - r.valid;
    if (!r.problemCount || r.valid === 0 || invalid <= 0) return null;
    return h(
      "p",
      {},
      h(
        "button",
        { type: "button", id: "upload-valid", onclick: () => void this.upload(true) },
        `Upload the ${n(r.valid)} valid row${r.valid === 1 ? "" : "s"}, skip ${n(invalid)}`,
      ),
    );
  }

  private async upload(skipInvalid = false): Promise<void> {
    if (this.busy || !this.file) return;
    if (!this.validateBatch()) {
      this.batch.focus();
      return;
    }
    this.busy = true;
    this.submit.disabled = true;
    this.uploadProgress.hidden = false;
    this.uploadProgress.value = 0;
    fill(this.result, h("p", {}, "Uploading…"));
    try {
      const { status, answer } = await this.api.upload(
        this.file,
        "text/csv",
        {
          batchId: this.batch.value.trim(),
          ...sendOptions(this.sendNow.checked),
          mode: this.reset.checked ? "reset" : undefined,
          invalidRows: skipInvalid ? "skip" : undefined,
        },
        (f) => {
          this.uploadProgress.value = f;
        },
      );
      renderAnswer(this.result, status, answer);
      if (status === 202 || status === 409) void this.imports.refresh(answer.importId);
      if (answer.ok) {
        this.onUploaded();
        this.batch.value = defaultBatchId();
      }
    } catch (e) {
      fill(this.result, h("div", { class: "result bad", "data-result": "error" }, h("p", {}, e instanceof ApiError ? e.message : String(e))));
    } finally {
      this.busy = false;
      this.submit.disabled = false;
      this.uploadProgress.hidden = true;
    }
  }
}
