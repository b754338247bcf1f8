// One person's page (`#/person/<upn>`): their record, whether they are held or excluded, the
// timeline of everything that happened to them, and the actions an admin can take (a new link
// now, exclude / include again, reset, remove from tracking), each confirmed first.

import { Api, ApiError, type PersonAction, type PersonRecord, type TimelineEvent } from "./api";
import { confirmAction, type ConfirmOptions } from "./dialog";
import { fill, h, type Child } from "./dom";
import { statusLabel, when } from "./format";

/** The link to a person's page. */
export function personHref(upn: string): string {
  return `#/person/${encodeURIComponent(upn)}`;
}

/** The UPN in a `#/person/<upn>` hash, or null. */
export function personFromHash(hash: string): string | null {
  const m = /^#\/person\/(.+)$/.exec(hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}

interface ActionSpec {
  action: PersonAction;
  label: string;
  confirm: (p: PersonRecord) => ConfirmOptions;
  done: string;
}

const ACTIONS: Record<PersonAction, ActionSpec> = {
  "send-link": {
    action: "send-link",
    label: "Send a new link now",
    confirm: (p) => ({
      title: `Send ${p.upn} a new link now?`,
      body: ["A new invitation with a new personal link is sent now (within the mail limits). The old link stops working."],
      confirm: "Send a new link",
    }),
    done: "A new link is on its way.",
  },
  exclude: {
    action: "exclude",
    label: "Exclude",
    confirm: (p) => ({
      title: `Exclude ${p.upn}?`,
      body: ["They are never emailed again (no invitation, reminder or escalation) and are shown as Excluded. You can include them again later."],
      confirm: "Exclude",
      danger: true,
    }),
    done: "Excluded: they are never emailed again.",
  },
  include: {
    action: "include",
    label: "Include again",
    confirm: (p) => ({
      title: `Include ${p.upn} again?`,
      body: [p.hold === "Held" ? "They leave the held upload and are invited with the next run, before the batch is released." : "They are emailed again as the campaign says, from the next run."],
      confirm: "Include again",
    }),
    done: "Included again.",
  },
  reset: {
    action: "reset",
    label: "Reset",
    confirm: (p) => ({
      title: `Reset ${p.upn}?`,
      body: ["Onboarding starts over: their status goes back to Pending and their reminder and escalation history is cleared. They are invited again with the next run."],
      confirm: "Reset",
      danger: true,
    }),
    done: "Reset: onboarding starts over.",
  },
  remove: {
    action: "remove",
    label: "Remove from tracking",
    confirm: (p) => ({
      title: `Remove ${p.upn} from tracking?`,
      body: ["Their record is deleted: they are no longer tracked, counted or emailed. This cannot be undone (upload them again to track them again). The audit log keeps the admin actions."],
      confirm: "Remove from tracking",
      danger: true,
    }),
    done: "Removed from tracking.",
  },
};

function yesNo(v: boolean): string {
  return v ? "Yes" : "No";
}

export class PersonPanel {
  el: HTMLElement;
  private upn = "";
  private seq = 0;
  private heading: HTMLHeadingElement;
  private holdNote: HTMLElement;
  private fields: HTMLElement;
  private actions: HTMLElement;
  private result: HTMLElement;
  private timeline: HTMLElement;
  private error: HTMLElement;
  private busy = false;

  constructor(
    private api: Api,
    private onChanged: () => void,
  ) {
    this.heading = h("h2", { id: "person-heading", tabindex: -1 }, "Person");
    this.holdNote = h("div", { id: "person-hold" });
    this.fields = h("dl", { class: "fields", id: "person-fields" });
    this.actions = h("div", { class: "actions", id: "person-actions" });
    this.result = h("div", { id: "person-result", role: "status", "aria-live": "polite" });
    this.timeline = h("div", { id: "person-timeline" });
    this.error = h("div", { role: "alert", id: "person-error" });
    this.el = h(
      "section",
      { class: "panel", id: "panel-person", "aria-labelledby": "person-heading", hidden: true },
      h("p", {}, h("a", { href: "#dashboard", id: "person-back" }, "← Back to the people table")),
      this.heading,
      this.error,
      this.holdNote,
      h("section", { class: "card", "aria-labelledby": "h-person-actions" }, h("h3", { id: "h-person-actions" }, "Actions"), this.actions, this.result),
      h("section", { class: "card", "aria-labelledby": "h-person-fields" }, h("h3", { id: "h-person-fields" }, "Record"), this.fields),
      h("section", { class: "card", "aria-labelledby": "h-person-timeline" }, h("h3", { id: "h-person-timeline" }, "Timeline"), this.timeline),
    );
  }

  /** Shows one person (a fresh page: earlier results cleared). */
  open(upn: string): void {
    if (upn !== this.upn) fill(this.result);
    this.upn = upn;
    this.heading.textContent = upn;
    void this.load().then(() => this.heading.focus());
  }

  private async load(): Promise<void> {
    const seq = ++this.seq;
    fill(this.error);
    try {
      const page = await this.api.person(this.upn);
      if (seq !== this.seq) return;
      this.render(page.person, page.timeline);
    } catch (e) {
      if (seq !== this.seq) return;
      const gone = e instanceof ApiError && e.status === 404;
      fill(this.holdNote);
      fill(this.fields);
      fill(this.actions);
      fill(this.timeline);
      fill(this.error, h("p", { class: "result bad" }, gone ? `${this.upn} is not tracked (never uploaded, or removed from tracking).` : `Could not load ${this.upn}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  private render(p: PersonRecord, events: TimelineEvent[]): void {
    this.heading.textContent = p.displayName ? `${p.displayName} (${p.upn})` : p.upn;
    fill(
      this.holdNote,
      p.hold === "Excluded"
        ? h("p", { class: "hold excluded", "data-hold": "Excluded" }, h("strong", {}, "Excluded"), ": never emailed again until an admin includes them again.")
        : p.hold === "Held"
          ? h("p", { class: "hold held", "data-hold": "Held" }, h("strong", {}, "Held"), `: in a held upload (batch ${p.sourceBatchId}); not emailed until the batch is released.`)
          : null,
    );
    const rows: [string, Child][] = [
      ["UPN", p.upn],
      ["Display name", p.displayName ?? "—"],
      ["Department", p.department ?? "—"],
      ["Job title", p.jobTitle ?? "—"],
      ["Manager", p.managerUpn ?? "—"],
      ["Batch", p.sourceBatchId],
      ["Status", statusLabel(p.inviteStatus)],
      ["Hold", p.hold ?? "None (emailed as the campaign says)"],
      ["In the CA group", p.inGroup ? `Yes, since ${when(p.addedToGroupDate)}` : "No"],
      ["MFA", `${p.mfaRegistrationState}${p.mfaRegistrationDate ? `, ${when(p.mfaRegistrationDate)}` : ""}`],
      ["Invited", when(p.inviteSentDate)],
      ["First opened", when(p.emailOpenedDate)],
      ["Clicked", when(p.clickedLinkDate)],
      ["Reminders", `${p.reminderCount}${p.lastReminderDate ? `, last ${when(p.lastReminderDate)}` : ""}`],
      ["Escalated", p.escalatedToManager ? `Yes, ${when(p.escalationDate)}` : yesNo(false)],
      ["Error", p.errorDetails ?? "—"],
    ];
    fill(this.fields, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-field": k }, v)]));
    const available: PersonAction[] = ["send-link", p.hold === "Excluded" ? "include" : "exclude", ...(p.hold === "Held" ? (["include"] as PersonAction[]) : []), "reset", "remove"];
    fill(
      this.actions,
      ...available.map((a) =>
        h(
          "button",
          { type: "button", "data-action": a, class: a === "remove" ? "danger-outline" : undefined, onclick: () => void this.act(p, a) },
          a === "include" && p.hold === "Held" ? "Include now (leave the held batch)" : ACTIONS[a].label,
        ),
      ),
    );
    fill(
      this.timeline,
      events.length
        ? h(
            "div",
            { class: "scroll" },
            h(
              "table",
              { id: "timeline-table" },
              h("caption", { class: "visually-hidden" }, "Everything that happened, oldest first"),
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "By"))),
              h("tbody", {}, ...events.map((e) => h("tr", {}, h("td", { class: "nowrap" }, when(e.at)), h("td", {}, e.what), h("td", {}, e.by ?? "")))),
            ),
          )
        : h("p", { class: "muted" }, "Nothing recorded yet."),
    );
  }

  private async act(p: PersonRecord, action: PersonAction): Promise<void> {
    if (this.busy) return;
    const spec = ACTIONS[action];
    if (!(await confirmAction(spec.confirm(p)))) return;
    this.busy = true;
    this.actions.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      const a = await this.api.act(p.upn, action);
      fill(
        this.result,
        h("p", { class: "result ok", "data-result": action }, spec.done, action === "send-link" && !a.invitationsStarted ? " It goes out with the next run." : ""),
      );
      this.onChanged();
      if (a.removed) {
        fill(this.holdNote);
        fill(this.fields);
        fill(this.actions);
        fill(this.timeline, h("p", { class: "muted" }, `${p.upn} is no longer tracked.`));
        return;
      }
    } catch (e) {
      // 409: the action makes no sense for them now (the server says why).
      fill(this.result, h("p", { class: "result bad", "data-result": "refused" }, `Refused: ${e instanceof Error ? e.message : String(e)}`));
    } finally {
      this.busy = false;
    }
    await this.load();
  }
}
