// Who is signed in and how API calls are authorised. Entra mode loads MSAL on demand (its own
// chunk), so the dev mode never downloads it.

import type { PortalConfig } from "./config";

/** A signed-in admin, or the local dev session. */
export interface Session {
  /** Shown in the header. */
  name: string;
  /** The `Authorization` header value for the API, or null in dev mode. */
  token(forceRefresh?: boolean): Promise<string | null>;
  /** Ends the session. */
  signOut(): Promise<void>;
}

/** The sign-in flow for the configured mode. */
export interface Auth {
  mode: PortalConfig["mode"];
  /** The session restored from a redirect or the cache, if any. */
  restore(): Promise<Session | null>;
  /** Starts signing in (entra: navigates away to Microsoft). */
  signIn(): Promise<Session | null>;
}

const DEV_KEY = "mfa-portal-dev-session";

function devAuth(): Auth {
  const session: Session = {
    name: "Dev (local only)",
    token: async () => null,
    signOut: async () => sessionStorage.removeItem(DEV_KEY),
  };
  return {
    mode: "dev",
    restore: async () => (sessionStorage.getItem(DEV_KEY) ? session : null),
    signIn: async () => {
      sessionStorage.setItem(DEV_KEY, "1");
      return session;
    },
  };
}

/** The sign-in for `cfg.mode`. */
export async function createAuth(cfg: PortalConfig): Promise<Auth> {
  if (cfg.mode === "dev") return devAuth();
  const { entraAuth } = await import("./msal");
  return entraAuth(cfg);
}
