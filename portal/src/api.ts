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
    byBatch: (Funnel & { batchId: string })[];
    byDay: { day: string; uploaded: number; sent: number; opened: number; clicked: number; active: number }[];
    directory?: DirectoryCounts;
  };
  pilot?: PilotSnapshot | null;
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
  async export(filter: PeopleFilter): Promise<{ blob: Blob; fileName: string }> {
    let resp: Response;
    try {
      resp = await this.send(`/api/admin/export${query({ ...filter })}`);
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
    return { blob, fileName: m?.[1] ?? exportFileName(filter.batchId) };
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
