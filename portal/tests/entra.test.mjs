// Entra mode without a network: config.json is replaced in the browser, Microsoft's endpoints are
// answered by the test, and we check that signing in starts an authorization-code + PKCE redirect
// for the handler's API scope. Also: a bad config.json stops the portal with a message naming the key.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { shot, startBrowser, startServer } from "./harness.mjs";

const TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const CLIENT = "6ba7b810-9dad-41d1-80b4-00c04fd430c8";
const SCOPE = "api://mfa-onboarding/access_as_admin";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
});

after(async () => {
  await browser?.stop();
  await server?.stop();
});

async function pageWithConfig(config) {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  await page.route("**/portal/config.json", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(config) }));
  return page;
}

describe("Entra mode", () => {
  test("sign-in redirects to Microsoft with auth code + PKCE for the API scope", async () => {
    const page = await pageWithConfig({ mode: "entra", apiBaseUrl: "", tenantId: TENANT, clientId: CLIENT, apiScope: SCOPE });
    const authorize = [];
    const base = `https://login.microsoftonline.com/${TENANT}`;
    await page.route("https://login.microsoftonline.com/**", (route) => {
      const url = new URL(route.request().url());
      if (url.pathname.endsWith("/openid-configuration")) {
        return route.fulfill({
          contentType: "application/json",
          headers: { "access-control-allow-origin": "*" },
          body: JSON.stringify({
            issuer: `${base}/v2.0`,
            authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
            token_endpoint: `${base}/oauth2/v2.0/token`,
            end_session_endpoint: `${base}/oauth2/v2.0/logout`,
            jwks_uri: `${base}/discovery/v2.0/keys`,
            response_types_supported: ["code"],
          }),
        });
      }
      if (url.pathname.includes("/discovery/instance")) {
        return route.fulfill({
          contentType: "application/json",
          headers: { "access-control-allow-origin": "*" },
          body: JSON.stringify({
            tenant_discovery_endpoint: `${base}/v2.0/.well-known/openid-configuration`,
            "api-version": "1.1",
            metadata: [{ preferred_network: "login.microsoftonline.com", preferred_cache: "login.windows.net", aliases: ["login.microsoftonline.com", "login.windows.net"] }],
          }),
        });
      }
      if (url.pathname.endsWith("/oauth2/v2.0/authorize")) {
        authorize.push(url);
        return route.fulfill({ contentType: "text/html", body: "<title>Fake Microsoft sign-in</title><p>signed-in page stand-in</p>" });
      }
      return route.fulfill({ status: 404, body: "" });
    });
    await page.goto(`${server.base}/portal/`);
    const button = page.getByRole("button", { name: "Sign in with Microsoft" });
    await button.waitFor();
    assert.equal(await page.locator("#mode-badge").isVisible(), false, "no dev badge in Entra mode");
    assert.equal(await page.getByRole("button", { name: /Dev sign-in/ }).count(), 0);
    await shot(page, "20-entra-sign-in");
    await button.click();
    await page.waitForURL(/login\.microsoftonline\.com/);
    assert.equal(authorize.length, 1);
    const q = authorize[0].searchParams;
    assert.equal(q.get("client_id"), CLIENT);
    assert.equal(q.get("response_type"), "code");
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.ok((q.get("code_challenge") ?? "").length >= 43, "a PKCE challenge is sent");
    assert.equal(q.get("redirect_uri"), `${server.base}/portal/`);
    const scopes = (q.get("scope") ?? "").split(" ");
    assert.ok(scopes.includes(SCOPE), `scope ${q.get("scope")}`);
    assert.ok(scopes.includes("openid") && scopes.includes("offline_access"));
    assert.equal(authorize[0].pathname, `/${TENANT}/oauth2/v2.0/authorize`);
    await page.close();
  });

  test("after Microsoft redirects back, API calls carry the access token", async () => {
    const page = await pageWithConfig({ mode: "entra", apiBaseUrl: "", tenantId: TENANT, clientId: CLIENT, apiScope: SCOPE });
    const base = `https://login.microsoftonline.com/${TENANT}`;
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const oid = "00000000-0000-0000-0000-0000000000aa";
    let nonce = "";
    const tokenRequests = [];
    await page.route("https://login.microsoftonline.com/**", async (route) => {
      const req = route.request();
      const url = new URL(req.url());
      const cors = { "access-control-allow-origin": "*" };
      if (url.pathname.endsWith("/openid-configuration")) {
        return route.fulfill({
          contentType: "application/json",
          headers: cors,
          body: JSON.stringify({
            issuer: `${base}/v2.0`,
            authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
            token_endpoint: `${base}/oauth2/v2.0/token`,
            end_session_endpoint: `${base}/oauth2/v2.0/logout`,
            jwks_uri: `${base}/discovery/v2.0/keys`,
          }),
        });
      }
      if (url.pathname.includes("/discovery/instance")) {
        return route.fulfill({
          contentType: "application/json",
          headers: cors,
          body: JSON.stringify({
            tenant_discovery_endpoint: `${base}/v2.0/.well-known/openid-configuration`,
            "api-version": "1.1",
            metadata: [{ preferred_network: "login.microsoftonline.com", preferred_cache: "login.windows.net", aliases: ["login.microsoftonline.com", "login.windows.net"] }],
          }),
        });
      }
      if (url.pathname.endsWith("/oauth2/v2.0/authorize")) {
        nonce = url.searchParams.get("nonce") ?? "";
        const back = new URLSearchParams({ code: "fake-code", state: url.searchParams.get("state") ?? "", client_info: b64({ uid: oid, utid: TENANT }) });
        const sep = url.searchParams.get("response_mode") === "query" ? "?" : "#";
        return route.fulfill({ status: 302, headers: { location: `${url.searchParams.get("redirect_uri")}${sep}${back}` } });
      }
      if (url.pathname.endsWith("/oauth2/v2.0/token")) {
        tokenRequests.push(new URLSearchParams(req.postData() ?? ""));
        const now = Math.floor(Date.now() / 1000);
        const idToken = `${b64({ alg: "none", typ: "JWT" })}.${b64({
          aud: CLIENT,
          iss: `${base}/v2.0`,
          iat: now,
          nbf: now,
          exp: now + 3600,
          name: "Ada Admin",
          preferred_username: "ada@contoso.com",
          oid,
          sub: "sub-1",
          tid: TENANT,
          nonce,
          ver: "2.0",
        })}.c2ln`;
        return route.fulfill({
          contentType: "application/json",
          headers: cors,
          body: JSON.stringify({
            token_type: "Bearer",
            scope: `${SCOPE} openid profile offline_access`,
            expires_in: 3600,
            ext_expires_in: 3600,
            access_token: "fake-access-token",
            refresh_token: "fake-refresh-token",
            id_token: idToken,
            client_info: b64({ uid: oid, utid: TENANT }),
          }),
        });
      }
      return route.fulfill({ status: 404, body: "" });
    });
    const auth = [];
    await page.route("**/api/admin/**", (route) => {
      auth.push(route.request().headers().authorization ?? "");
      return route.continue();
    });
    await page.goto(`${server.base}/portal/`);
    await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
    await page.getByRole("tablist", { name: "Portal sections" }).waitFor({ timeout: 20_000 });
    assert.match(await page.locator("#who").innerText(), /Ada Admin/);
    assert.equal(tokenRequests.length, 1);
    assert.equal(tokenRequests[0].get("grant_type"), "authorization_code");
    assert.ok((tokenRequests[0].get("code_verifier") ?? "").length >= 43, "the PKCE verifier is sent");
    await page.locator("[data-kpi=uploaded]").waitFor();
    assert.ok(auth.length > 0 && auth.every((a) => a === "Bearer fake-access-token"), JSON.stringify(auth));
    assert.equal(page.url(), `${server.base}/portal/#dashboard`, "the code is not left in the address bar");
    await shot(page, "22-entra-signed-in");
    await page.close();
  });

  test("a config.json without a client id stops the portal and names the key", async () => {
    const page = await pageWithConfig({ mode: "entra", tenantId: TENANT, apiScope: SCOPE });
    await page.goto(`${server.base}/portal/`);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /The portal is not configured[\s\S]*"clientId" is required/);
    await shot(page, "21-config-error");
    await page.close();
  });
});
