// An email's HTML shown in a sandboxed iframe (srcdoc, no scripts) without side effects: nothing
// in it is fetched or followed, so previewing an invitation never counts as the person opening
// it (the tracking pixel) or clicking it (the enrolment link).
//
// The portal's CSP (style-src 'self') also applies to a srcdoc frame, and emails style every
// element inline. So the inline styles are taken out of the markup before it is parsed (parsing
// a style attribute or element is already a violation, even in a DOMParser document) and put
// back through the CSSOM once the frame has loaded, which the CSP allows; that needs
// `allow-same-origin`, and the frame still runs no script (no `allow-scripts`; script elements
// and handlers are removed too).

import { h } from "./dom";

/** What was taken out of an email to show it safely. */
export interface Prepared {
  /** The markup for `srcdoc`, without scripts, inline styles, image sources or link targets. */
  html: string;
  /** `<style>` sheets. */
  sheets: string[];
  /** Every link target, in order (shown as text next to the email). */
  links: string[];
  /** Images not loaded (remote images and the tracking pixel). */
  images: number;
}

/** The attribute an inline style is kept in until the frame has loaded. */
const KEPT_STYLE = "data-email-style";

/** A start tag, its attributes tokenised as HTML does (quoted values may hold `>` or `=`). */
const START_TAG = /<[a-zA-Z][^\s/>]*(?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*\/?>/g;
const ATTRIBUTE = /(\s+)([^\s"'>/=]+)((?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)/g;
const STYLE_ELEMENT = /<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi;

/** Renames `style` attributes and takes out `<style>` elements, in the markup itself. */
function unstyle(html: string, sheets: string[]): string {
  return html
    .replace(STYLE_ELEMENT, (_, css: string) => {
      sheets.push(css);
      return "";
    })
    .replace(START_TAG, (tag) => {
      const name = /^<[^\s/>]+/.exec(tag)![0];
      const rest = tag.slice(name.length).replace(ATTRIBUTE, (all, space: string, attr: string, value: string) =>
        attr.toLowerCase() === "style" ? `${space}${KEPT_STYLE}${value}` : all,
      );
      return name + rest;
    });
}

/** Strips what would run, load or navigate, keeping styles and link targets aside. */
export function prepareEmail(html: string): Prepared {
  const sheets: string[] = [];
  const doc = new DOMParser().parseFromString(unstyle(html, sheets), "text/html");
  const links: string[] = [];
  let images = 0;
  doc.querySelectorAll("script, style, iframe, object, embed, link, meta[http-equiv], base, form").forEach((e) => e.remove());
  doc.querySelectorAll("*").forEach((el) => {
    for (const attr of [...el.attributes]) {
      if (/^on/i.test(attr.name) || attr.name === "srcset" || attr.name === "background") el.removeAttribute(attr.name);
    }
    if (el instanceof HTMLAnchorElement || el.tagName === "AREA") {
      const href = el.getAttribute("href");
      if (href) {
        links.push(href);
        el.removeAttribute("href");
        el.setAttribute("title", href);
        el.setAttribute("data-href", href);
      }
    }
    if (el.tagName === "IMG") {
      const src = el.getAttribute("src");
      if (src && !src.startsWith("data:")) {
        images += 1;
        el.removeAttribute("src");
        el.setAttribute("data-src", src);
      }
    }
  });
  return { html: `<!DOCTYPE html>${doc.documentElement.outerHTML}`, sheets, links, images };
}

/** A sandboxed frame showing `html` with its styles, and nothing fetched. */
export function emailFrame(html: string, title: string): { frame: HTMLIFrameElement; prepared: Prepared } {
  const prepared = prepareEmail(html);
  const frame = h("iframe", { class: "email-frame", title, sandbox: "allow-same-origin", referrerpolicy: "no-referrer" });
  frame.addEventListener("load", () => {
    const doc = frame.contentDocument;
    const win = frame.contentWindow as (Window & typeof globalThis) | null;
    if (!doc || !win) return;
    doc.querySelectorAll<HTMLElement>(`[${KEPT_STYLE}]`).forEach((el) => {
      el.style.cssText = el.getAttribute(KEPT_STYLE) ?? "";
    });
    if (prepared.sheets.length) {
      try {
        const sheet = new win.CSSStyleSheet();
        sheet.replaceSync(prepared.sheets.join("\n"));
        doc.adoptedStyleSheets = [sheet];
      } catch {
        // An unparsable sheet: the email shows with its inline styles only.
      }
    }
    frame.style.height = `${Math.min(2000, Math.max(200, doc.documentElement.scrollHeight + 8))}px`;
  });
  frame.srcdoc = prepared.html;
  return { frame, prepared };
}
