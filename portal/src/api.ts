// The handler's admin API: JSON reads, the streamed CSV export as a download, and uploads with
// progress (XHR, because fetch cannot report upload progress).

import type { Session } from "./auth";
import type { Problem } from "./csv";

/** A failed API call, with the server's message when it sent one. */
export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public body: unknown = null,
  ) {
    super(message);
  }
}

/** The filter shared by the people table and the export. */
export interface PeopleFilter {
  search?: string;
  status?: string;
  batchId?: string;
  attention?: string;
  staleDays?: number;
}

/** The funnel counts (each includes everyone who got at least that far). */
export interface Funnel {
  uploaded: number;
  sent: number;
  opened: number;
  clicked: number;
  inGroup: number;
  active: number;
}

/** Outcomes of the opt-in directory passes: people per phone outcome and per-user MFA state. */
export interface DirectoryCounts {
  phone: Record<string, number>;
  perUserMfa: Record<string, number>;
}

/** The pilot scope as the worker last counted it (`MFA_PILOT_GROUP`). */
export interface PilotSnapshot {
  groupId: string;
  groupName: string | null;
  members: number;
  inScope: number;
  outOfScope: number;
  at: string;
}

/** `GET /api/admin/report`. */
export interface Report {
  generatedAt: string;
  percentComplete: number;
  summary: {
    byStatus: Record<string, number>;
    funnel: Funnel;
    escalated: number;
    errors: number;
    /** The errors grouped by reason, most frequent first (the 20 largest groups). */
    errorReasons?: { reason: string; count: number }[];
    queued: number;
    /** In held uploads, waiting for their release. */
    held?: number;
    /** Excluded by an admin (never emailed). */
    excluded?: number;
    /** Per batch; `held`: people waiting for the batch's release. */
    byBatch: (Funnel & { batchId: string; held?: number })[];
    byDay: { day: string; uploaded: number; sent: number; opened: number; clicked: number; active: number }[];
    directory?: DirectoryCounts;
    /** People by the strength of what they registered (`none`, `phone-only`, `app`,
     * `phishing-resistant`, `unknown`: not read yet). */
    byStrength?: Record<string, number>;
    /** Phone-only people (blocked at sign-in from 2027-02-01) by department, largest first. */
    phoneOnlyByDepartment?: { reason: string; count: number }[];
  };
  pilot?: PilotSnapshot | null;
  /** Microsoft's registration campaign as the last report read it (read-only). */
  registrationCampaign?: { state?: string; snoozeDays?: number | null; unknown?: string; at?: string } | null;
  /** Everyone in the tenant by strength (enabled members), as the last report read the
   * registration report (Entra ID P1); `unknown` says why not. */
  tenantStrength?: { byStrength?: Record<string, number>; guests?: number; disabled?: number; unknown?: string; at?: string } | null;
  needingAttention: {
    staleDays: number;
    notClicked: number;
    clickedNotRegistered: number;
    escalated: number;
    errors: number;
    queued: number;
  };
  /** How the worker's check pass detects registrations (null before the first check). */
  detection?: {
    mode: "events" | "report" | "per-user" | null;
    reconciliation: { lastAt: string | null; source: string | null; lastFound: number; totalFound: number } | null;
  };
}

/** One person as the admin API shows them. */
export interface PersonRecord {
  upn: string;
  displayName: string | null;
  department: string | null;
  jobTitle: string | null;
  inviteStatus: string;
  inGroup: boolean;
  mfaRegistrationState: string;
  mfaRegistrationDate: string | null;
  inviteSentDate: string | null;
  emailOpenedDate: string | null;
  clickedLinkDate: string | null;
  addedToGroupDate: string | null;
  reminderCount: number;
  lastReminderDate: string | null;
  escalatedToManager: boolean;
  escalationDate: string | null;
  managerUpn: string | null;
  sourceBatchId: string;
  errorDetails: string | null;
  /** `Held` (in a held upload, waiting for its release), `Excluded` (by an admin), or null. */
  hold?: "Held" | "Excluded" | null;
}

/** `GET /api/admin/users`. */
export interface UsersPage {
  items: PersonRecord[];
  total: number;
  page: number;
  pageSize: number;
}

/** `POST /api/upload-users` answers (200, 202, 400, 409). */
export interface UploadAnswer {
  ok: boolean;
  /** The import that writes the rows (202: still running in the background). */
  importId?: string;
  state?: string;
  rowsWritten?: number;
  rowsLeft?: number;
  batchId?: string;
  correlationId?: string;
  rows?: number;
  skippedEmptyRows?: number;
  inserted?: number;
  requeued?: number;
  reset?: number;
  unchanged?: number;
  mode?: string;
  /** True for a held upload: nobody is emailed until the batch is released. */
  hold?: boolean;
  sendNow?: string | boolean;
  ignoredColumns?: string[];
  warnings?: string[];
  error?: string;
  errorCount?: number;
  truncated?: boolean;
  errors?: Problem[];
  /** With `invalidRows=skip`: how many rows were left out, and the first ones with reasons. */
  skippedRows?: number;
  skipped?: Problem[];
}

/** One background import (`GET /api/admin/imports`). */
export interface ImportView {
  id: string;
  state: "running" | "completed" | "failed";
  batchId: string;
  mode: string;
  startedBy: string;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  rowsTotal: number;
  rowsWritten: number;
  rowsLeft: number;
  percent: number;
  eta: string | null;
  etaSeconds: number | null;
  outcome: { inserted: number; requeued: number; reset: number; unchanged: number };
  error: string | null;
  waiting: boolean;
}

/** `POST /api/admin/find-people`. */
export interface FoundPeople {
  below: string;
  examined: number;
  guests: number;
  disabled: number;
  byStrength: Record<string, number>;
  count: number;
  sample: string[];
  /** `report` (Entra ID P1) or `per-user` (each user's methods, without P1). */
  source: string;
  /** False when the per-user reads ran out of time: the counts cover the people read. */
  complete: boolean;
  committed: boolean;
  batchId?: string;
  inserted?: number;
}

/** One release of a held batch, as the campaign controls keep it. */
export interface Release {
  /** From when its people may be invited. */
  at: string;
  /** At most this many a day (null: all at once). */
  perDay: number | null;
  /** The admin who released it. */
  by: string;
  /** People released so far. */
  released: number;
  /** The UTC day of the last release, and how many were released that day. */
  day: string | null;
  releasedThatDay: number;
  /** Nobody in the batch is held any more. */
  done: boolean;
}

/** `GET /api/admin/campaign` (and the answer of pause and resume). */
export interface Campaign {
  paused: boolean;
  pausedSince: string | null;
  pausedBy: string | null;
  pauses: { from: string; to: string }[];
  releases: Record<string, Release>;
  /** The campaign-wide cap on invitations a day (`MFA_INVITES_PER_DAY`), null when none. */
  invitesPerDay: number | null;
  invitesToday: number;
  generatedAt: string;
}

/** `POST /api/admin/batches/{id}/release`. */
export interface ReleaseAnswer {
  ok: boolean;
  batchId: string;
  held: number;
  at: string;
  perDay: number | null;
  invitationsStarted: boolean;
}

/** One line of a person's timeline. */
export interface TimelineEvent {
  at: string;
  what: string;
  /** The admin, for admin actions. */
  by?: string;
}

/** `GET /api/admin/users/{upn}`. */
export interface PersonPage {
  person: PersonRecord;
  timeline: TimelineEvent[];
  generatedAt: string;
}

/** The actions on one person. */
export type PersonAction = "send-link" | "exclude" | "include" | "reset" | "remove";

/** `POST /api/admin/users/{upn}/{action}`. */
export interface ActionAnswer {
  ok: boolean;
  action: PersonAction;
  person?: PersonRecord;
  removed?: boolean;
  invitationsStarted?: boolean;
}

/** The kinds of email. */
export type MailKind = "invitation" | "reminder" | "escalation" | "report";

/** `GET /api/admin/preview`: what the next run would send (a dry run). */
export interface Preview {
  total: number;
  byKind: Partial<Record<MailKind, number>>;
  /** By batch id ("" for emails about no batch, such as the report), then by kind. */
  byBatch: Record<string, Partial<Record<MailKind, number>>>;
  /** The sending limits would stop the run before everything due is sent. */
  limitedBySending: boolean;
  notes: string[];
  generatedAt: string;
}

/** `GET /api/admin/preview/email`: one email rendered as it would be sent now. */
export interface SampleEmail {
  kind: MailKind;
  to: string[];
  subject: string;
  html: string;
  text: string;
  templates: { file: string; source: "built-in" | "override" | string }[];
}

/** One entry of the admin audit log. */
export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  origin: string | null;
  action: string;
  target: string | null;
  detail: string | null;
}

/** `GET /api/admin/audit`. */
export interface AuditPage {
  items: AuditEntry[];
  total: number;
  page: number;
  pageSize: number;
}

/** Query string of a filter (empty values left out). */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

function messageOf(status: number, body: unknown): string {
  if (body && typeof body === "object" && typeof (body as { error?: unknown }).error === "string") {
    return (body as { error: string }).error;
  }
  if (status === 401) return "You are not signed in, or your session has expired.";
  if (status === 403) return "Your account is not allowed to use the admin API.";
  if (status === 413) return "The file is too large for one upload; split it into smaller files.";
  return `The server answered HTTP ${status}.`;
}

/** The audit log as CSV (every entry, newest first). */
export const AUDIT_CSV = "/api/admin/audit?format=csv";

/** `mfa-report[-batch]-YYYY-MM-DD.csv`, as the server names it. */
export function exportFileName(batchId: string | undefined, now: Date = new Date()): string {
  const day = now.toISOString().slice(0, 10);
  const safe = batchId ? `-${batchId.replace(/[^A-Za-z0-9_-]/g, "-")}` : "";
  return `mfa-report${safe}-${day}.csv`;
}

export class Api {
  constructor(
    private base: string,
    private session: Session,
  ) {}

  private async headers(forceRefresh = false): Promise<Record<string, string>> {
    const token = await this.session.token(forceRefresh);
    return token ? { Authorization: token } : {};
  }

  /** Sends a request, retrying once with a fresh token after a 401. */
  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    let resp = await fetch(this.base + path, { ...init, headers: { ...(init.headers as object), ...(await this.headers()) } });
    if (resp.status === 401) {
      const fresh = await this.headers(true);
      if (fresh.Authorization) {
        resp = await fetch(this.base + path, { ...init, headers: { ...(init.headers as object), ...fresh } });
      }
    }
    return resp;
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    let resp: Response;
    try {
      resp = await this.send(path, init);
    } catch {
      throw new ApiError(0, "The API cannot be reached. Check your connection and the apiBaseUrl in config.json.");
    }
    let body: unknown = null;
    try {
      body = await resp.json();
    } catch {
      body = null;
    }
    if (!resp.ok) throw new ApiError(resp.status, messageOf(resp.status, body), body);
    return body as T;
  }

  report(staleDays: number): Promise<Report> {
    return this.json<Report>(`/api/admin/report${query({ staleDays })}`);
  }

  users(filter: PeopleFilter, page: number, pageSize: number): Promise<UsersPage> {
    return this.json<UsersPage>(`/api/admin/users${query({ ...filter, page, pageSize })}`);
  }

  /** Counts people matching a filter without reading them. */
  async count(filter: PeopleFilter): Promise<number> {
    return (await this.users(filter, 0, 1)).total;
  }

  imports(): Promise<{ imports: ImportView[]; running: number }> {
    return this.json(`/api/admin/imports`);
  }

  run(passes: string[]): Promise<unknown> {
    return this.json(`/api/admin/run`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ passes }),
    });
  }

  /** Downloads the export of `filter` as a blob with the file name to save it under. */
  export(filter: PeopleFilter): Promise<{ blob: Blob; fileName: string }> {
    return this.download(`/api/admin/export${query({ ...filter })}`, exportFileName(filter.batchId));
  }

  /** Downloads the audit log as CSV (`mfa-audit-YYYY-MM-DD.csv`). */
  auditCsv(): Promise<{ blob: Blob; fileName: string }> {
    return this.download(AUDIT_CSV, `mfa-audit-${new Date().toISOString().slice(0, 10)}.csv`);
  }

  /** Fetches a file with the bearer token; the name is the server's (Content-Disposition). */
  private async download(path: string, fallbackName: string): Promise<{ blob: Blob; fileName: string }> {
    let resp: Response;
    try {
      resp = await this.send(path);
    } catch {
      throw new ApiError(0, "The API cannot be reached.");
    }
    if (!resp.ok) {
      let body: unknown = null;
      try {
        body = await resp.json();
      } catch {
        body = null;
      }
      throw new ApiError(resp.status, messageOf(resp.status, body), body);
    }
    const blob = await resp.blob();
    const cd = resp.headers.get("Content-Disposition") ?? "";
    const m = /filename="?([^";]+)"?/i.exec(cd);
    return { blob, fileName: m?.[1] ?? fallbackName };
  }

  campaign(): Promise<Campaign> {
    return this.json<Campaign>("/api/admin/campaign");
  }

  /** Pauses (true) or resumes (false) the whole campaign; 409 when it already is. */
  setPaused(paused: boolean): Promise<Campaign> {
    return this.json<Campaign>(`/api/admin/campaign/${paused ? "pause" : "resume"}`, { method: "POST" });
  }

  /** Everyone in the tenant (or one group) below a strength: a preview, or (`commit`) added as
   * one batch, held when `hold`. */
  findPeople(options: { below: string; groupId?: string; commit?: boolean; hold?: boolean }): Promise<FoundPeople> {
    return this.json<FoundPeople>("/api/admin/find-people", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(options),
    });
  }

  /** Releases a held batch: now (no `at`) or at `at`, at most `perDay` a day when given. */
  release(batchId: string, options: { at?: string; perDay?: number }): Promise<ReleaseAnswer> {
    return this.json<ReleaseAnswer>(`/api/admin/batches/${encodeURIComponent(batchId)}/release`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(options),
    });
  }

  person(upn: string): Promise<PersonPage> {
    return this.json<PersonPage>(`/api/admin/users/${encodeURIComponent(upn)}`);
  }

  act(upn: string, action: PersonAction): Promise<ActionAnswer> {
    return this.json<ActionAnswer>(`/api/admin/users/${encodeURIComponent(upn)}/${action}`, { method: "POST" });
  }

  preview(): Promise<Preview> {
    return this.json<Preview>("/api/admin/preview");
  }

  sampleEmail(kind: MailKind, upn?: string): Promise<SampleEmail> {
    return this.json<SampleEmail>(`/api/admin/preview/email${query({ kind, upn })}`);
  }

  audit(page: number, pageSize: number, target?: string): Promise<AuditPage> {
    return this.json<AuditPage>(`/api/admin/audit${query({ page, pageSize, target })}`);
  }

  /** Uploads a CSV file or JSON rows, reporting upload progress (0–1). */
  async upload(
    body: Blob | string,
    contentType: string,
    params: Record<string, string | undefined>,
    onProgress?: (fraction: number) => void,
  ): Promise<{ status: number; answer: UploadAnswer }> {
    const auth = await this.headers();
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${this.base}/api/upload-users${query(params)}`);
      xhr.setRequestHeader("Content-Type", contentType);
      if (auth.Authorization) xhr.setRequestHeader("Authorization", auth.Authorization);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new ApiError(0, "The upload could not reach the API."));
      xhr.onload = () => {
        let answer: UploadAnswer;
        try {
          answer = JSON.parse(xhr.responseText) as UploadAnswer;
        } catch {
          answer = { ok: false };
        }
        if (!answer.error && !answer.ok && !answer.errors) answer.error = messageOf(xhr.status, null);
        resolve({ status: xhr.status, answer });
      };
      xhr.send(body);
    });
  }
}
