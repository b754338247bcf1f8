// Background imports on the upload page: a progress bar per running import that survives a page
// reload (the list comes from GET /api/admin/imports, polled every few seconds while one runs),
// and the final counts of the imports that finished while the page watched them.

import { Api, type ImportView } from "./api";
import { fill, h } from "./dom";
import { n, when } from "./format";

/** How often the list is read while an import runs. */
const POLL_MS = 3000;

/** "about 3 min", "about 1 h 20 min", "under a minute". */
function remaining(seconds: number | null): string {
  if (seconds === null) return "estimating the time left";
  if (seconds < 60) return "under a minute left";
  const min = Math.round(seconds / 60);
  if (min < 60) return `about ${min} min left`;
  return `about ${Math.floor(min / 60)} h ${min % 60} min left`;
}

function counts(i: ImportView): string {
  const o = i.outcome;
  return `${n(o.inserted)} added, ${n(o.requeued)} re-queued, ${n(o.reset)} reset, ${n(o.unchanged)} unchanged`;
}

export class ImportsPanel {
  el: HTMLElement;
  private list: HTMLElement;
  private timer: number | undefined;
  /** Imports seen running on this page: their end is shown too. */
  private watched = new Set<string>();

  constructor(private api: Api) {
    this.list = h("div", { id: "imports-list" });
    this.el = h("section", { id: "imports", "aria-live": "polite", hidden: true }, h("h3", {}, "Imports in progress"), this.list);
  }

  /** Reads the list now (and keeps polling while an import runs). `id`: an import just started. */
  async refresh(id?: string): Promise<void> {
    if (id) this.watched.add(id);
    window.clearTimeout(this.timer);
    let all: ImportView[];
    try {
      all = (await this.api.imports()).imports;
    } catch {
      // A failed read (offline, signed out) is retried with the next poll.
      this.timer = window.setTimeout(() => void this.refresh(), POLL_MS * 2);
      return;
    }
    for (const i of all) if (i.state === "running") this.watched.add(i.id);
    const shown = all.filter((i) => this.watched.has(i.id));
    this.render(shown);
    if (shown.some((i) => i.state === "running")) {
      this.timer = window.setTimeout(() => void this.refresh(), POLL_MS);
    }
  }

  private render(imports: ImportView[]): void {
    this.el.hidden = imports.length === 0;
    fill(
      this.list,
      ...imports.map((i) => {
        const label = `Import of batch ${i.batchId}`;
        if (i.state === "running") {
          return h(
            "div",
            { class: "import running", "data-import": i.id, "data-state": i.state },
            h("p", {}, h("strong", {}, label), ` by ${i.startedBy}, started ${when(i.startedAt)}`),
            h("progress", { max: Math.max(i.rowsTotal, 1), value: i.rowsWritten, "aria-label": `${label}: rows written` }),
            h(
              "p",
              { class: "import-progress" },
              `${n(i.rowsWritten)} of ${n(i.rowsTotal)} rows written (${i.percent}%), ${n(i.rowsLeft)} left — `,
              i.waiting ? "waiting to be resumed" : remaining(i.etaSeconds),
              ".",
            ),
            i.error ? h("p", { class: "warning" }, `Retrying after: ${i.error}`) : null,
          );
        }
        return h(
          "div",
          { class: `result ${i.state === "completed" ? "ok" : "bad"} import`, "data-import": i.id, "data-state": i.state },
          h("p", {}, h("strong", {}, `${label} ${i.state}`), ` at ${when(i.finishedAt)}: ${n(i.rowsWritten)} of ${n(i.rowsTotal)} rows written (${counts(i)}).`),
          i.error ? h("p", {}, `Reason: ${i.error}`) : null,
        );
      }),
    );
  }
}
