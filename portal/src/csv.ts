// Client-side mirror of the handler's upload rules (handler/src/routes/upload/parse.rs and
// core's Upn/BatchId parsers), used for the instant preview. The server stays the authority: the
// messages here are worded like the server's so an admin sees the same problem twice at most.

import { yieldToUi } from "./dom";

/** One problem, as the server reports it. Row 0 means the file or header as a whole. */
export interface Problem {
  row: number;
  column: string;
  value: string;
  message: string;
}

/** One person as read from a row. */
export interface Person {
  upn: string;
  displayName?: string;
  department?: string;
  jobTitle?: string;
}

/** A previewed row. */
export interface PreviewRow {
  row: number;
  cells: string[];
  problems: Problem[];
}

/** The result of checking a file. */
export interface CheckResult {
  delimiter: string;
  headers: string[];
  addressColumn: string | null;
  ignoredColumns: string[];
  rows: number;
  valid: number;
  skippedEmpty: number;
  problems: Problem[];
  problemCount: number;
  preview: PreviewRow[];
}

/** Problems kept in memory (the count is always exact), like the server's MAX_REPORTED. */
export const MAX_REPORTED = 1000;
/** Longest display name, department or job title. */
export const MAX_TEXT = 256;
/** Address columns in order of preference. */
export const ADDRESS_COLUMNS = ["UPN", "UserPrincipalName", "Email", "Mail", "EmailAddress", "Title"];

const LOCAL_ALLOWED = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/;
const LABEL_ALLOWED = /^[A-Za-z0-9-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Why `input` is not a usable address, or null when it is (core's `Upn::parse`). */
export function upnProblem(input: string): string | null {
  const s = input.trim();
  if (s === "") return "the address is empty";
  if (utf8Length(s) > 254) return "the address is longer than 254 characters";
  const parts = s.split("@");
  if (parts.length !== 2) return "the address must contain exactly one '@'";
  const [local, domain] = parts as [string, string];
  if (local === "") return "the part before '@' is empty";
  if (utf8Length(local) > 64) return "the part before '@' is longer than 64 characters";
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) {
    return "the part before '@' must not start or end with '.', or contain '..'";
  }
  if (!LOCAL_ALLOWED.test(local)) {
    return "the part before '@' may contain only letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .";
  }
  if (domain === "") return "the domain is empty";
  if (utf8Length(domain) > 253) return "the domain is longer than 253 characters";
  const labels = domain.split(".");
  if (labels.length < 2) return "the domain needs a dot, as in contoso.com";
  for (const label of labels) {
    if (label === "" || utf8Length(label) > 63) return "the domain has an empty or over-long label";
    if (label.startsWith("-") || label.endsWith("-")) {
      return "the domain has a label that starts or ends with '-'";
    }
    if (!LABEL_ALLOWED.test(label)) return "the domain may contain only letters, digits, '-' and '.'";
  }
  const tld = labels[labels.length - 1] ?? "";
  if (/^[0-9]*$/.test(tld)) return "the domain must end in a name, not a number";
  return null;
}

/** Why `input` is not a usable batch id, or null (core's `BatchId::parse`). */
export function batchIdProblem(input: string): string | null {
  const s = input.trim();
  if (s === "") return "the batch id is empty";
  if ([...s].length > 64) return "the batch id is longer than 64 characters";
  if (!/^[\p{Alphabetic}\p{N} _.:-]+$/u.test(s) || s.startsWith("-") || s.startsWith(".")) {
    return "the batch id may contain only letters, digits, spaces and - _ . : and must not start with - or .";
  }
  return null;
}

/** The default batch id for an upload now: `yyyy-MM-dd-HHmm` in UTC, as the server names them. */
export function defaultBatchId(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${now.getUTCFullYear()}-${p(now.getUTCMonth() + 1)}-${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}`;
}

type Field = { kind: "address"; rank: number } | { kind: "display"; rank: number } | { kind: "department" } | { kind: "jobTitle" };

/** What a header means (compared without case, spaces, `_` and `-`). */
export function classify(header: string): Field | null {
  const norm = header.replace(/[ _-]/g, "").toLowerCase();
  const rank = ADDRESS_COLUMNS.findIndex((a) => a.toLowerCase() === norm);
  if (rank >= 0) return { kind: "address", rank };
  switch (norm) {
    case "displayname":
      return { kind: "display", rank: 0 };
    case "name":
      return { kind: "display", rank: 1 };
    case "department":
      return { kind: "department" };
    case "jobtitle":
      return { kind: "jobTitle" };
    default:
      return null;
  }
}

interface Columns {
  address: { rank: number; index: number; name: string } | null;
  display: { rank: number; index: number; name: string } | null;
  department: { index: number; name: string } | null;
  jobTitle: { index: number; name: string } | null;
  ignored: string[];
}

function columnsOf(headers: string[]): Columns {
  const c: Columns = { address: null, display: null, department: null, jobTitle: null, ignored: [] };
  headers.forEach((h, index) => {
    const name = h.trim();
    const f = classify(name);
    if (!f) {
      if (name !== "") c.ignored.push(name);
      return;
    }
    if (f.kind === "address" && (!c.address || f.rank < c.address.rank)) c.address = { rank: f.rank, index, name };
    if (f.kind === "display" && (!c.display || f.rank < c.display.rank)) c.display = { rank: f.rank, index, name };
    if (f.kind === "department" && !c.department) c.department = { index, name };
    if (f.kind === "jobTitle" && !c.jobTitle) c.jobTitle = { index, name };
  });
  return c;
}

/** `,`, `;` or tab: whichever occurs most outside quotes in the header line (ties: that order). */
export function sniffDelimiter(text: string): string {
  const nl = text.indexOf("\n");
  const header = nl < 0 ? text : text.slice(0, nl);
  const counts = [0, 0, 0];
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ",") counts[0]! += 1;
    else if (!quoted && ch === ";") counts[1]! += 1;
    else if (!quoted && ch === "\t") counts[2]! += 1;
  }
  let best = 0;
  for (let i = 1; i < 3; i++) if (counts[i]! > counts[best]!) best = i;
  return [",", ";", "\t"][best]!;
}

/** One CSV record and the line it starts on (1-based). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Reads CSV records (RFC 4180 quoting, blank lines skipped, ragged rows allowed). */
export function* records(text: string, delimiter: string): Generator<CsvRecord, void, undefined> {
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const c = text[i];
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (c === "\r") {
      i++;
      if (text[i] === "\n") i++;
      line++;
      continue;
    }
    const start = line;
    const fields: string[] = [];
    let field = "";
    for (;;) {
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          const end = q < 0 ? n : q;
          const chunk = text.slice(i, end);
          for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === 10) line++;
          field += chunk;
          i = end;
          if (q < 0) break;
          if (text[q + 1] === '"') {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
      }
      let j = i;
      while (j < n) {
        const d = text[j];
        if (d === delimiter || d === "\n" || d === "\r") break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
      fields.push(field);
      field = "";
      if (i < n && text[i] === delimiter) {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      line++;
      break;
    }
    yield { line: start, fields };
  }
}

/** Collects rows and problems like the server's `Collector`. */
class Collector {
  rows = 0;
  valid = 0;
  skippedEmpty = 0;
  problems: Problem[] = [];
  problemCount = 0;
  people: Person[] = [];
  private seen = new Map<string, number>();

  constructor(private keepPeople: boolean) {}

  problem(row: number, column: string, value: string, message: string): Problem {
    const p = { row, column, value: [...value].slice(0, 100).join(""), message };
    this.problemCount++;
    if (this.problems.length < MAX_REPORTED) this.problems.push(p);
    return p;
  }

  private text(row: number, cell: [string, string] | null, out: Problem[]): string | undefined {
    if (!cell) return undefined;
    const value = cell[1].trim();
    if (value === "") return undefined;
    if ([...value].length > MAX_TEXT) {
      out.push(this.problem(row, cell[0], value, `longer than ${MAX_TEXT} characters`));
      return undefined;
    }
    if (CONTROL.test(value)) {
      out.push(this.problem(row, cell[0], value, "contains control characters (tabs, line breaks)"));
      return undefined;
    }
    return value;
  }

  /** Checks one row; returns its problems, or null when the row is empty and skipped. */
  row(
    row: number,
    address: [string, string],
    display: [string, string] | null,
    department: [string, string] | null,
    jobTitle: [string, string] | null,
  ): Problem[] | null {
    if ([address, display, department, jobTitle].every((c) => !c || c[1].trim() === "")) {
      this.skippedEmpty++;
      return null;
    }
    this.rows++;
    const out: Problem[] = [];
    const displayName = this.text(row, display, out);
    const dep = this.text(row, department, out);
    const job = this.text(row, jobTitle, out);
    const why = upnProblem(address[1]);
    if (why) {
      out.push(this.problem(row, address[0], address[1], `not a valid address: ${why}`));
      return out;
    }
    const upn = address[1].trim().toLowerCase();
    const first = this.seen.get(upn);
    if (first !== undefined) {
      out.push(this.problem(row, address[0], address[1], `duplicate: ${upn} is already on row ${first}`));
      return out;
    }
    this.seen.set(upn, row);
    if (out.length === 0) this.valid++;
    if (this.keepPeople) this.people.push({ upn, displayName, department: dep, jobTitle: job });
    return out;
  }
}

function wholeFile(message: string, extra: Partial<CheckResult> = {}): CheckResult {
  return {
    delimiter: ",",
    headers: [],
    addressColumn: null,
    ignoredColumns: [],
    rows: 0,
    valid: 0,
    skippedEmpty: 0,
    problems: [{ row: 0, column: "", value: "", message }],
    problemCount: 1,
    preview: [],
    ...extra,
  };
}

/** Decodes file bytes as the server does: UTF-8 only, BOM removed. */
export function decode(bytes: Uint8Array): { text: string } | { error: string } {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    return { text };
  } catch {
    return { error: 'the file is not UTF-8 text; save it as "CSV UTF-8"' };
  }
}

/**
 * Checks a whole CSV text in slices, yielding to the UI every `sliceRows` rows and reporting
 * progress (0–1). Keeps the first `previewRows` rows for the preview.
 */
export async function checkCsv(
  text: string,
  opts: { previewRows?: number; sliceRows?: number; onProgress?: (fraction: number, rows: number) => void } = {},
): Promise<CheckResult> {
  const previewRows = opts.previewRows ?? 50;
  const sliceRows = opts.sliceRows ?? 2000;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") return wholeFile("the file is empty");
  const delimiter = sniffDelimiter(text);
  const totalLines = countLines(text);
  const it = records(text, delimiter);
  const first = it.next();
  const headers = first.done ? [] : first.value.fields;
  const cols = columnsOf(headers);
  if (!cols.address) {
    return wholeFile(`no address column: name one column ${ADDRESS_COLUMNS.join(", ")}`, {
      delimiter,
      headers,
      ignoredColumns: cols.ignored,
    });
  }
  const address = cols.address;
  const collector = new Collector(false);
  const preview: PreviewRow[] = [];
  let sinceYield = 0;
  let consumedLine = 1;
  let row = 1;
  for (const rec of it) {
    // Rows are numbered as a spreadsheet shows them and as the server counts them: the header
    // is row 1, so the first person is row 2; blank lines are not counted (a row of empty
    // cells is counted, then skipped).
    row++;
    consumedLine = rec.line;
    const get = (i: number) => rec.fields[i] ?? "";
    const problems = collector.row(
      row,
      [address.name, get(address.index)],
      cols.display ? [cols.display.name, get(cols.display.index)] : null,
      cols.department ? [cols.department.name, get(cols.department.index)] : null,
      cols.jobTitle ? [cols.jobTitle.name, get(cols.jobTitle.index)] : null,
    );
    if (problems !== null && preview.length < previewRows) {
      preview.push({ row, cells: headers.map((_, i) => get(i)), problems });
    }
    if (++sinceYield >= sliceRows) {
      sinceYield = 0;
      opts.onProgress?.(Math.min(1, consumedLine / totalLines), collector.rows);
      await yieldToUi();
    }
  }
  opts.onProgress?.(1, collector.rows);
  if (collector.problemCount === 0 && collector.rows === 0) {
    collector.problem(0, "", "", "the upload has no people in it");
  }
  return {
    delimiter,
    headers,
    addressColumn: address.name,
    ignoredColumns: cols.ignored,
    rows: collector.rows,
    valid: collector.valid,
    skippedEmpty: collector.skippedEmpty,
    problems: collector.problems,
    problemCount: collector.problemCount,
    preview,
  };
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** Checks manually entered people (JSON rows): the same rules, rows numbered from 1. */
export function checkPeople(people: Person[]): { problems: Problem[]; valid: number } {
  const c = new Collector(false);
  people.forEach((p, i) => {
    c.row(
      i + 1,
      ["upn", p.upn ?? ""],
      ["displayName", p.displayName ?? ""],
      ["department", p.department ?? ""],
      ["jobTitle", p.jobTitle ?? ""],
    );
  });
  if (c.problemCount === 0 && c.rows === 0) c.problem(0, "", "", "the upload has no people in it");
  return { problems: c.problems, valid: c.valid };
}
