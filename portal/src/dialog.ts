// The in-page confirmation asked before every action that changes the campaign: a modal
// <dialog> (focus trapped by the browser, Escape cancels), never window.confirm, so it reads
// like the rest of the portal and tests can drive it.

import { h, uid, type Child } from "./dom";

export interface ConfirmOptions {
  /** The question, e.g. "Pause the campaign?" */
  title: string;
  /** What will happen, in a sentence or two (text or nodes). */
  body: Child | Child[];
  /** The confirming button's label, e.g. "Pause the campaign". */
  confirm: string;
  /** Red confirming button for what cannot be undone. */
  danger?: boolean;
}

/** Asks for confirmation; resolves true only when the admin chose the confirming button. */
export function confirmAction(opts: ConfirmOptions): Promise<boolean> {
  const titleId = uid("confirm-title");
  const bodyId = uid("confirm-body");
  const ok = h("button", { type: "submit", value: "ok", class: opts.danger ? "primary danger" : "primary", "data-confirm": "ok" }, opts.confirm);
  const cancel = h("button", { type: "submit", value: "cancel", "data-confirm": "cancel" }, "Cancel");
  const body = Array.isArray(opts.body) ? opts.body : [opts.body];
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": titleId, "aria-describedby": bodyId },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: titleId }, opts.title),
      h("div", { id: bodyId, class: "confirm-body" }, ...body.map((b) => (typeof b === "string" ? h("p", {}, b) : b))),
      h("div", { class: "actions" }, cancel, ok),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const yes = dialog.returnValue === "ok";
      dialog.remove();
      resolve(yes);
    });
    dialog.showModal();
    // The safe choice has the focus: Enter alone does not confirm.
    cancel.focus();
  });
}
