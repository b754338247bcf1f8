// Microsoft Entra sign-in with MSAL: authorization code flow with PKCE, redirect (no pop-ups),
// access tokens for the handler's API scope renewed silently, falling back to a redirect when
// Entra needs the admin to interact again.

import {
  BrowserCacheLocation,
  InteractionRequiredAuthError,
  PublicClientApplication,
  type AccountInfo,
} from "@azure/msal-browser";
import type { Auth, Session } from "./auth";
import type { PortalConfig } from "./config";

export async function entraAuth(cfg: PortalConfig): Promise<Auth> {
  const pca = await PublicClientApplication.createPublicClientApplication({
    auth: {
      clientId: cfg.clientId,
      authority: `https://login.microsoftonline.com/${encodeURIComponent(cfg.tenantId)}`,
      redirectUri: cfg.redirectUri,
      postLogoutRedirectUri: cfg.redirectUri,
      navigateToLoginRequestUrl: true,
    },
    cache: { cacheLocation: BrowserCacheLocation.SessionStorage },
  });
  const scopes = [cfg.apiScope];

  const session = (account: AccountInfo): Session => ({
    name: account.name || account.username,
    async token(forceRefresh = false) {
      try {
        const r = await pca.acquireTokenSilent({ scopes, account, forceRefresh });
        return `Bearer ${r.accessToken}`;
      } catch (e) {
        if (e instanceof InteractionRequiredAuthError) {
          await pca.acquireTokenRedirect({ scopes, account });
          // The page navigates away; nothing is sent meanwhile.
          return new Promise<string>(() => {});
        }
        throw e;
      }
    },
    async signOut() {
      await pca.logoutRedirect({ account });
    },
  });

  return {
    mode: "entra",
    async restore() {
      const result = await pca.handleRedirectPromise();
      const account = result?.account ?? pca.getActiveAccount() ?? pca.getAllAccounts()[0] ?? null;
      if (!account) return null;
      pca.setActiveAccount(account);
      return session(account);
    },
    async signIn() {
      await pca.loginRedirect({ scopes });
      return null;
    },
  };
}
