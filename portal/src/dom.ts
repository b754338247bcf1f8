// Tiny DOM helpers. Everything from a CSV or the API goes in as text (text nodes and attributes),
// never as HTML: there is no innerHTML anywhere in the portal. The one exception is a sample
// email on the Preview tab, which is HTML by nature and is shown in a sandboxed frame with no
// script, nothing loaded and nothing followed (emailframe.ts).

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

function apply(el: Element, attrs: Attrs | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** An HTML element with attributes (`onclick` etc. become listeners) and text/node children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element. */
export function s(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  apply(el, attrs);
  append(el, children);
  return el as SVGElement;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Gives the event loop a turn so the page stays responsive during long work. */
export function yieldToUi(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

let ids = 0;
/** A unique element id. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}
