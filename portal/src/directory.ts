// The "Directory enrolment" card: the opt-in directory passes (docs/directory-passes.md) as the
// admin report counts them — the pilot scope, phone prepopulation in the seed runbook's terms
// (people without MFA, eligible, provisioned, failed by reason) and the per-user MFA states.
// Hidden while none of them has ever been used.

import type { DirectoryCounts, PilotSnapshot } from "./api";
import { h } from "./dom";
import { n, when } from "./format";

const PHONE_OUTCOMES = ["Provisioned", "HasPhone", "HasMfa", "NoMobile", "InvalidNumber", "Failed"];

function sum(m: Record<string, number> | undefined, keys: string[]): number {
  return keys.reduce((t, k) => t + (m?.[k] ?? 0), 0);
}

function row(label: string, value: number, key: string): HTMLElement {
  return h("tr", { "data-directory": key }, h("th", { scope: "row" }, label), h("td", { class: "num" }, n(value)));
}

/** The card's content, or null when there is nothing to show. */
export function directoryContent(d: DirectoryCounts | undefined, pilot: PilotSnapshot | null | undefined): HTMLElement | null {
  const phone = d?.phone ?? {};
  const mfa = d?.perUserMfa ?? {};
  const phoneSeen = sum(phone, PHONE_OUTCOMES);
  const mfaSeen = sum(mfa, ["disabled", "enabled", "enforced"]);
  if (!phoneSeen && !mfaSeen && !pilot) return null;
  const parts: HTMLElement[] = [];
  if (pilot) {
    parts.push(
      h(
        "p",
        { id: "pilot-scope" },
        `Pilot group ${pilot.groupName ?? pilot.groupId}: ${n(pilot.members)} members; ${n(pilot.inScope)} tracked people in scope, ${n(pilot.outOfScope)} out of scope (left as they are). Counted ${when(pilot.at)}.`,
      ),
    );
  }
  if (phoneSeen) {
    parts.push(
      h(
        "table",
        { class: "compact", id: "phone-counts" },
        h("caption", {}, "Phone prepopulation"),
        h(
          "tbody",
          {},
          row("People without MFA", sum(phone, ["Provisioned", "NoMobile", "InvalidNumber", "Failed"]), "withoutMfa"),
          row("Eligible (no MFA, a mobile number)", sum(phone, ["Provisioned", "InvalidNumber", "Failed"]), "eligible"),
          row("Provisioned", sum(phone, ["Provisioned"]), "provisioned"),
          row("Failed: number format", sum(phone, ["InvalidNumber"]), "invalidNumber"),
          row("Failed: refused by Graph", sum(phone, ["Failed"]), "refused"),
          row("No mobile number", sum(phone, ["NoMobile"]), "noMobile"),
          row("Already had a phone", sum(phone, ["HasPhone"]), "hasPhone"),
        ),
      ),
    );
  }
  if (mfaSeen) {
    parts.push(
      h(
        "table",
        { class: "compact", id: "per-user-mfa" },
        h("caption", {}, "Per-user MFA (Graph beta)"),
        h("tbody", {}, row("Enforced", mfa.enforced ?? 0, "enforced"), row("Enabled", mfa.enabled ?? 0, "enabled"), row("Disabled", mfa.disabled ?? 0, "disabled")),
      ),
    );
  }
  return h("div", {}, ...parts);
}
