// A small XML well-formedness checker for the report tests: balanced tags, quoted
// attributes, no raw '<' in text or attributes, and only well-formed entity references.
// Enough for the SVG we emit (no comments, CDATA, doctype or processing instructions).

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;
const NAME = '[A-Za-z_][\\w:.-]*';
const TAG = new RegExp(`<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"]*")*)\\s*(/?)>`, 'y');

function checkEntities(text: string, where: string): void {
  for (let i = text.indexOf('&'); i >= 0; i = text.indexOf('&', i + 1)) {
    ENTITY.lastIndex = i;
    if (!ENTITY.test(text)) throw new Error(`bad entity at ${where}: ${JSON.stringify(text.slice(i, i + 12))}`);
  }
  if (text.includes('<')) throw new Error(`raw '<' in ${where}`);
  // Characters XML 1.0 forbids.
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(text)) throw new Error(`forbidden character in ${where}`);
}

/** Throws with a description when `xml` is not well-formed; returns the root element name and element count. */
export function checkWellFormed(xml: string): { root: string; elements: number } {
  const stack: string[] = [];
  let root = '';
  let elements = 0;
  let pos = 0;
  let closedRoot = false;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const text = xml.slice(pos, lt < 0 ? xml.length : lt);
    if (text) {
      checkEntities(text, `offset ${pos}`);
      if ((stack.length === 0) && text.trim()) throw new Error(`text outside the root element at ${pos}`);
    }
    if (lt < 0) break;
    TAG.lastIndex = lt;
    const m = TAG.exec(xml);
    if (!m) throw new Error(`malformed tag at offset ${lt}: ${JSON.stringify(xml.slice(lt, lt + 60))}`);
    const [whole, close, name, attrText, selfClose] = m;
    for (const a of attrText!.matchAll(new RegExp(`(${NAME})\\s*=\\s*"([^"]*)"`, 'g'))) checkEntities(a[2]!, `attribute ${a[1]} of <${name}>`);
    const names = [...attrText!.matchAll(new RegExp(`(${NAME})\\s*=`, 'g'))].map((a) => a[1]);
    if (new Set(names).size !== names.length) throw new Error(`duplicate attribute in <${name}> at ${lt}`);
    if (close) {
      if (selfClose || attrText) throw new Error(`malformed end tag at ${lt}`);
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> at ${lt} closes <${open ?? 'nothing'}>`);
      if (stack.length === 0) closedRoot = true;
    } else {
      if (closedRoot || (stack.length === 0 && root)) throw new Error(`second root element <${name}> at ${lt}`);
      if (!root) root = name!;
      elements++;
      if (!selfClose) stack.push(name!);
      else if (stack.length === 0) closedRoot = true;
    }
    pos = lt + whole.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (!root) throw new Error('no root element');
  return { root, elements };
}
