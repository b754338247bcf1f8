// Entry point: loads config.json, restores or starts the session, then shows the sections
// (dashboard, CSV upload, manual entry, campaign controls, preview, audit log) as
// keyboard-navigable tabs, and one person's page at `#/person/<upn>`.

import "./style.css";
import { Api } from "./api";
import { AuditPanel } from "./audit";
import { createAuth, type Session } from "./auth";
import { CampaignPanel } from "./campaign";
import { ConfigError, loadConfig, type PortalConfig } from "./config";
import { Dashboard } from "./dashboard";
import { fill, h } from "./dom";
import { ManualPanel } from "./manual";
import { PersonPanel, personFromHash } from "./person";
import { PreviewPanel } from "./preview";
import { UploadPanel } from "./upload";

const app = document.getElementById("app") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;

function showError(title: string, detail: string): void {
  fill(app, h("section", { class: "card narrow", role: "alert" }, h("h2", {}, title), h("p", {}, detail)));
}

function isLoopback(): boolean {
  return ["localhost", "127.0.0.1", "[::1]"].includes(location.hostname);
}

function signInScreen(cfg: PortalConfig, start: () => void): void {
  const button =
    cfg.mode === "dev"
      ? h("button", { type: "button", class: "primary", id: "dev-sign-in", onclick: start }, "Dev sign-in (local only)")
      : h("button", { type: "button", class: "primary", id: "sign-in", onclick: start }, "Sign in with Microsoft");
  fill(
    app,
    h(
      "section",
      { class: "card narrow", "aria-labelledby": "signin-title" },
      h("h2", { id: "signin-title" }, "Sign in"),
      cfg.mode === "dev"
        ? h(
            "p",
            { class: "warning" },
            "Local development mode: the handler runs with MFA_ADMIN_AUTH=dev and accepts admin requests without credentials from this machine only. ",
            isLoopback() ? "" : "This page is not on a loopback address, so the API will refuse it.",
          )
        : h("p", {}, "Sign in with your Microsoft Entra ID work account. You need the portal's admin role."),
      button,
    ),
  );
  button.focus();
}

interface Tab {
  id: string;
  label: string;
  panel: HTMLElement;
  onShow?: () => void;
}

interface Tabs {
  bar: HTMLElement;
  /** Shows tab `i` (and its `#id` in the address). */
  select: (i: number, focus: boolean) => void;
  /** Shows a page that is not a tab (a person's page) in place of the panels. */
  showPage: (page: HTMLElement) => void;
}

/** The tab list; `pages` are shown instead of the panels by `showPage` and hidden by `select`. */
function tabs(list: Tab[], pages: HTMLElement[]): Tabs {
  const buttons: HTMLButtonElement[] = [];
  const select = (i: number, focus: boolean) => {
    for (const p of pages) p.hidden = true;
    list.forEach((t, j) => {
      const on = i === j;
      buttons[j]!.setAttribute("aria-selected", String(on));
      buttons[j]!.tabIndex = on ? 0 : -1;
      t.panel.hidden = !on;
    });
    if (focus) buttons[i]!.focus();
    list[i]!.onShow?.();
    if (location.hash !== `#${list[i]!.id}`) history.replaceState(null, "", `#${list[i]!.id}`);
  };
  const showPage = (page: HTMLElement) => {
    list.forEach((t, j) => {
      buttons[j]!.setAttribute("aria-selected", "false");
      buttons[j]!.tabIndex = j === 0 ? 0 : -1;
      t.panel.hidden = true;
    });
    for (const p of pages) p.hidden = p !== page;
  };
  const bar = h("div", { role: "tablist", "aria-label": "Portal sections", class: "tabs" });
  list.forEach((t, i) => {
    const b = h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${t.id}`,
        "aria-controls": `panel-${t.id}`,
        onclick: () => select(i, false),
        onkeydown: (e: Event) => {
          const k = (e as KeyboardEvent).key;
          const next =
            k === "ArrowRight" ? (i + 1) % list.length : k === "ArrowLeft" ? (i - 1 + list.length) % list.length : k === "Home" ? 0 : k === "End" ? list.length - 1 : -1;
          if (next >= 0) {
            e.preventDefault();
            select(next, true);
          }
        },
      },
      t.label,
    );
    buttons.push(b);
    bar.append(b);
    t.panel.id = `panel-${t.id}`;
    t.panel.setAttribute("role", "tabpanel");
    t.panel.setAttribute("aria-labelledby", `tab-${t.id}`);
    t.panel.tabIndex = 0;
  });
  return { bar, select, showPage };
}

function portal(cfg: PortalConfig, session: Session): void {
  const api = new Api(cfg.apiBaseUrl, session);
  fill(
    who,
    h("span", { class: "who-name" }, session.name),
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: async () => {
          await session.signOut();
          location.reload();
        },
      },
      "Sign out",
    ),
  );
  const campaign = new CampaignPanel(api, () => void dashboard.refresh());
  const dashboard = new Dashboard(api, cfg, () => void campaign.loadStatus());
  const upload = new UploadPanel(api, () => dashboard.refresh());
  const manual = new ManualPanel(api, () => dashboard.refresh());
  const preview = new PreviewPanel(api);
  const audit = new AuditPanel(api, cfg.apiBaseUrl);
  const person = new PersonPanel(api, () => void dashboard.refresh());
  const list: Tab[] = [
    { id: "dashboard", label: "Dashboard", panel: dashboard.el, onShow: () => dashboard.show() },
    { id: "upload", label: "Upload CSV", panel: upload.el },
    { id: "add", label: "Add people", panel: manual.el },
    { id: "campaign", label: "Campaign", panel: campaign.el, onShow: () => campaign.show() },
    { id: "preview", label: "Preview", panel: preview.el, onShow: () => preview.show() },
    { id: "audit", label: "Audit log", panel: audit.el, onShow: () => audit.show() },
  ];
  const ui = tabs(list, [person.el]);
  fill(app, campaign.banner, ui.bar, ...list.map((t) => t.panel), person.el);
  // The address says what is shown: `#<tab>` or `#/person/<upn>` (links, Back and Forward).
  const route = () => {
    const upn = personFromHash(location.hash);
    if (upn) {
      ui.showPage(person.el);
      person.open(upn);
      return;
    }
    ui.select(Math.max(0, list.findIndex((t) => `#${t.id}` === location.hash)), false);
  };
  window.addEventListener("hashchange", route);
  queueMicrotask(route);
  void campaign.loadStatus();
}

async function start(): Promise<void> {
  let cfg: PortalConfig;
  try {
    cfg = await loadConfig();
  } catch (e) {
    showError("The portal is not configured", e instanceof ConfigError ? e.message : String(e));
    return;
  }
  document.body.dataset.mode = cfg.mode;
  if (cfg.mode === "dev") document.getElementById("mode-badge")!.hidden = false;
  let auth;
  try {
    auth = await createAuth(cfg);
  } catch (e) {
    showError("Sign-in could not start", e instanceof Error ? e.message : String(e));
    return;
  }
  let session: Session | null = null;
  try {
    session = await auth.restore();
  } catch (e) {
    showError("Sign-in failed", e instanceof Error ? e.message : String(e));
    return;
  }
  if (session) {
    portal(cfg, session);
    return;
  }
  signInScreen(cfg, async () => {
    try {
      const s = await auth.signIn();
      if (s) portal(cfg, s);
    } catch (e) {
      showError("Sign-in failed", e instanceof Error ? e.message : String(e));
    }
  });
}

void start();
