// The portal's runtime settings, read from `config.json` next to index.html (never compiled in),
// so one build serves every tenant and the local dev mode.

/** `config.json`. */
export interface PortalConfig {
  /** `entra`: sign in with Microsoft Entra ID; `dev`: local handler with MFA_ADMIN_AUTH=dev. */
  mode: "entra" | "dev";
  /** Base URL of the handler's API (empty: the origin that serves the portal). */
  apiBaseUrl: string;
  /** Directory (tenant) id, for the authority `https://login.microsoftonline.com/<tenantId>`. */
  tenantId: string;
  /** Application (client) id of the portal's SPA app registration. */
  clientId: string;
  /** The handler's API scope, e.g. `api://<api-client-id>/Admin.Access`. */
  apiScope: string;
  /** Redirect URI registered for the SPA (default: this page's URL without query or hash). */
  redirectUri: string;
  /** Dashboard auto-refresh interval in seconds (0: off). */
  refreshSeconds: number;
  /** Days after an invitation without a click before a person "needs attention". */
  staleDays: number;
}

export class ConfigError extends Error {}

function str(v: unknown, name: string, fallback = ""): string {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string") throw new ConfigError(`config.json: "${name}" must be text`);
  return v.trim();
}

function num(v: unknown, name: string, fallback: number, min: number, max: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`config.json: "${name}" must be a whole number from ${min} to ${max}`);
  }
  return v;
}

/** Validates a parsed config.json; a wrong value names its key. */
export function parseConfig(raw: unknown, pageUrl: string): PortalConfig {
  if (!raw || typeof raw !== "object") throw new ConfigError("config.json must hold a JSON object");
  const o = raw as Record<string, unknown>;
  const mode = str(o.mode, "mode", "entra");
  if (mode !== "entra" && mode !== "dev") throw new ConfigError('config.json: "mode" must be "entra" or "dev"');
  const page = new URL(pageUrl);
  const cfg: PortalConfig = {
    mode,
    apiBaseUrl: str(o.apiBaseUrl, "apiBaseUrl").replace(/\/+$/, ""),
    tenantId: str(o.tenantId, "tenantId"),
    clientId: str(o.clientId, "clientId"),
    apiScope: str(o.apiScope, "apiScope"),
    redirectUri: str(o.redirectUri, "redirectUri", page.origin + page.pathname),
    refreshSeconds: num(o.refreshSeconds, "refreshSeconds", 30, 0, 3600),
    staleDays: num(o.staleDays, "staleDays", 3, 1, 365),
  };
  if (cfg.mode === "entra") {
    for (const k of ["tenantId", "clientId", "apiScope"] as const) {
      if (!cfg[k]) throw new ConfigError(`config.json: "${k}" is required when "mode" is "entra"`);
    }
  }
  if (cfg.apiBaseUrl && !/^https?:\/\//.test(cfg.apiBaseUrl)) {
    throw new ConfigError('config.json: "apiBaseUrl" must start with https:// (or be empty)');
  }
  return cfg;
}

/** Loads `config.json` from beside the page. */
export async function loadConfig(): Promise<PortalConfig> {
  const url = new URL("config.json", document.baseURI);
  let resp: Response;
  try {
    resp = await fetch(url, { cache: "no-store" });
  } catch {
    throw new ConfigError(`config.json could not be loaded from ${url.pathname}`);
  }
  if (!resp.ok) throw new ConfigError(`config.json could not be loaded from ${url.pathname} (HTTP ${resp.status})`);
  let raw: unknown;
  try {
    raw = await resp.json();
  } catch {
    throw new ConfigError("config.json is not valid JSON");
  }
  return parseConfig(raw, location.href);
}
