// Manual entry: add one or a few people with the upload's validation; submits JSON rows.

import { Api, ApiError } from "./api";
import { batchIdProblem, checkPeople, defaultBatchId, type Person } from "./csv";
import { fill, h, uid } from "./dom";
import { renderAnswer, sendNowOption } from "./upload";

interface Row {
  el: HTMLFieldSetElement;
  inputs: Record<keyof Person, HTMLInputElement>;
  msgs: Record<keyof Person, HTMLElement>;
}

const FIELDS: [keyof Person, string, string][] = [
  ["upn", "UPN (sign-in address)", "email"],
  ["displayName", "Display name", "name"],
  ["department", "Department", "organization-title"],
  ["jobTitle", "Job title", "organization-title"],
];

export class ManualPanel {
  el: HTMLElement;
  private rows: Row[] = [];
  private list: HTMLElement;
  private batch: HTMLInputElement;
  private batchMsg: HTMLElement;
  private sendNow: HTMLInputElement;
  private result: HTMLElement;
  private submit: HTMLButtonElement;

  constructor(
    private api: Api,
    private onAdded: () => void,
  ) {
    this.list = h("div", { class: "people-rows" });
    const batchId = uid("m-batch");
    const batchMsgId = uid("m-batch-msg");
    this.batch = h("input", { id: batchId, value: defaultBatchId(), maxlength: 64, "aria-describedby": batchMsgId, autocomplete: "off" });
    this.batchMsg = h("span", { id: batchMsgId, class: "field-msg" }, "Default: the date and time (UTC).");
    const sendNow = sendNowOption("m-send");
    this.sendNow = sendNow.input;
    this.result = h("div", { id: "manual-result", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.submit = h("button", { type: "submit", class: "primary", id: "manual-submit" }, "Add people");
    const form = h(
      "form",
      { novalidate: true },
      this.list,
      h("div", { class: "actions" }, h("button", { type: "button", id: "add-row", onclick: () => this.addRow(true) }, "Add another person")),
      h(
        "fieldset",
        { class: "options" },
        h("legend", {}, "Options"),
        h("div", { class: "field" }, h("label", { for: batchId }, "Batch id"), this.batch, this.batchMsg),
        sendNow.el,
      ),
      h("div", { class: "actions" }, this.submit),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.send();
    });
    this.el = h("section", { class: "panel" }, h("h2", {}, "Add people by hand"), h("p", { class: "muted" }, "For one or a few people. Larger lists: use a CSV upload."), form, this.result);
    this.addRow(false);
  }

  private addRow(focus: boolean): void {
    const index = this.rows.length + 1;
    const inputs = {} as Row["inputs"];
    const msgs = {} as Row["msgs"];
    const fields = FIELDS.map(([key, label]) => {
      const id = uid(`m-${key}`);
      const msgId = `${id}-msg`;
      const input = h("input", { id, name: key, autocomplete: "off", "aria-describedby": msgId, required: key === "upn", maxlength: key === "upn" ? 254 : 256 });
      const msg = h("span", { id: msgId, class: "field-msg error" });
      input.addEventListener("blur", (e) => {
        // Not when focus moves to the submit button: the message would shift it under the pointer.
        if ((e as FocusEvent).relatedTarget === this.submit) return;
        if (input.value.trim()) this.validate(false);
      });
      inputs[key] = input;
      msgs[key] = msg;
      return h("div", { class: "field" }, h("label", { for: id }, label, key === "upn" ? h("span", { "aria-hidden": "true" }, " *") : null), input, msg);
    });
    const row: Row = { el: h("fieldset", { class: "person" }), inputs, msgs };
    const remove = h("button", { type: "button", class: "link", onclick: () => this.removeRow(row) }, `Remove person ${index}`);
    row.el.append(h("legend", {}, `Person ${index}`), ...fields, index > 1 ? remove : "");
    this.rows.push(row);
    this.list.append(row.el);
    if (focus) inputs.upn.focus();
  }

  private removeRow(row: Row): void {
    this.rows = this.rows.filter((r) => r !== row);
    row.el.remove();
    this.rows[this.rows.length - 1]?.inputs.upn.focus();
  }

  private people(): Person[] {
    return this.rows.map((r) => ({
      upn: r.inputs.upn.value.trim(),
      displayName: r.inputs.displayName.value.trim() || undefined,
      department: r.inputs.department.value.trim() || undefined,
      jobTitle: r.inputs.jobTitle.value.trim() || undefined,
    }));
  }

  /** Marks invalid fields; returns true when everything is valid. */
  private validate(focusFirst: boolean): boolean {
    const people = this.people();
    for (const r of this.rows) {
      for (const [key] of FIELDS) {
        r.inputs[key].removeAttribute("aria-invalid");
        r.msgs[key].textContent = "";
      }
    }
    const { problems } = checkPeople(people);
    let first: HTMLInputElement | null = null;
    for (const p of problems) {
      const r = this.rows[p.row - 1];
      if (!r) continue;
      const key = (FIELDS.find(([k]) => k === p.column)?.[0] ?? "upn") as keyof Person;
      r.inputs[key].setAttribute("aria-invalid", "true");
      r.msgs[key].textContent = p.message;
      first ??= r.inputs[key];
    }
    const batchWhy = batchIdProblem(this.batch.value);
    this.batch.setAttribute("aria-invalid", String(!!batchWhy));
    this.batchMsg.textContent = batchWhy ?? "Default: the date and time (UTC).";
    this.batchMsg.classList.toggle("error", !!batchWhy);
    if (batchWhy) first ??= this.batch;
    if (focusFirst && first) first.focus();
    return problems.length === 0 && !batchWhy;
  }

  private async send(): Promise<void> {
    if (!this.validate(true)) {
      fill(this.result, h("p", { class: "result bad", "data-result": "invalid" }, "Fix the fields marked above; nothing was sent."));
      return;
    }
    this.submit.disabled = true;
    try {
      const body = JSON.stringify({ people: this.people(), batchId: this.batch.value.trim(), sendNow: this.sendNow.checked, hold: !this.sendNow.checked });
      const { status, answer } = await this.api.upload(body, "application/json", {});
      renderAnswer(this.result, status, answer);
      if (answer.ok) {
        for (const r of this.rows.slice(1)) r.el.remove();
        this.rows = this.rows.slice(0, 1);
        for (const [key] of FIELDS) this.rows[0]!.inputs[key].value = "";
        this.onAdded();
      }
    } catch (e) {
      fill(this.result, h("p", { class: "result bad", "data-result": "error" }, e instanceof ApiError ? e.message : String(e)));
    } finally {
      this.submit.disabled = false;
    }
  }
}
