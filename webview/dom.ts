// Tiny DOM builder. Text only ever goes through textContent and attributes through
// setAttribute, so run labels, file names and evidence sentences can never become markup.

export interface ElOptions {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, opts?: ElOptions, children?: (Node | null | false)[]): HTMLElementTagNameMap[K];
export function el(tag: string, opts?: ElOptions, children?: (Node | null | false)[]): HTMLElement;
export function el(tag: string, opts: ElOptions = {}, children: (Node | null | false)[] = []): HTMLElement {
  const e = document.createElement(tag);
  if (opts.class) e.className = opts.class;
  if (opts.text !== undefined) e.textContent = opts.text;
  if (opts.attrs) for (const [k, v] of Object.entries(opts.attrs)) e.setAttribute(k, v);
  for (const c of children) if (c) e.appendChild(c);
  return e;
}

export function clear(node: Element): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

let idCounter = 0;
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
