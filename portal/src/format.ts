// Number and date formatting for the dashboard.

const ints = new Intl.NumberFormat("en-GB");

/** 12,345 */
export function n(v: number | undefined | null): string {
  return ints.format(v ?? 0);
}

const compact = new Intl.NumberFormat("en-GB", { notation: "compact", maximumFractionDigits: 1 });

/** 100K, 1.2M: for chart axes. */
export function short(v: number): string {
  return compact.format(v);
}

/** Percentage of `part` in `whole`, one decimal, "0%" for an empty whole. */
export function pct(part: number, whole: number): string {
  if (!whole) return "0%";
  return `${(Math.round((part * 1000) / whole) / 10).toString()}%`;
}

/** An ISO instant as `YYYY-MM-DD HH:MM` UTC, or an em dash. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Human name of a status. */
export function statusLabel(s: string): string {
  return s === "AddedToGroup" ? "Added to group" : s;
}

/** The statuses in lifecycle order. */
export const STATUSES = ["Pending", "Sent", "Clicked", "AddedToGroup", "Active"];
