/**
 * PostgreSQL array text form (array_in / array_out, src/backend/utils/adt/arrayfuncs.c), for element types whose
 * delimiter is a comma (all the types supported here).
 *
 *   {1,2,NULL}   {"a b",c,"x\"y"}   {{1,2},{3,4}}   [0:1]={7,8}   {}
 *
 * Unquoted elements have surrounding whitespace removed; the unquoted word NULL (any case) is SQL NULL; a backslash
 * escapes the next character inside and outside quotes. Multi-dimensional arrays must be rectangular, have at most
 * MAXDIM (6) dimensions, and explicit bounds must be int32 with the upper bound + 1 still an int32, as array_in
 * requires; deeper nesting is refused before it is read, so no input recurses further than that. What is accepted
 * is a subset of what array_in accepts (bounds are written without spaces, as array_out writes them), with the
 * same meaning.
 */
import { ARRAY_ELEMENT_STEPS, UNMETERED, charge, linearCost, type Meter } from "./budget.ts";

export interface ArrayText {
  /** Length of each dimension; [] for an empty array. */
  dims: number[];
  /** Lower bound of each dimension (1 unless a `[lo:hi]=` prefix says otherwise). */
  lbounds: number[];
  /** Elements in row-major order, as text, null for NULL. */
  items: (string | null)[];
}

type Node = { list: Node[] } | { text: string | null };

/** arrayfuncs.c MAXDIM. */
export const MAX_ARRAY_DIMS = 6;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** array_isspace: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

class Reader {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.pos];
  }
  skipSpace(): void {
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
  }
}

function readList(r: Reader, depth: number): Node | undefined {
  if (r.peek() !== "{" || depth > MAX_ARRAY_DIMS) return undefined;
  r.pos++;
  const list: Node[] = [];
  r.skipSpace();
  if (r.peek() === "}") {
    r.pos++;
    return { list };
  }
  for (;;) {
    r.skipSpace();
    const item = r.peek() === "{" ? readList(r, depth + 1) : readElement(r);
    if (!item) return undefined;
    list.push(item);
    r.skipSpace();
    const c = r.peek();
    r.pos++;
    if (c === "}") return { list };
    if (c !== ",") return undefined;
  }
}

const QUOTE = 34;
const BACKSLASH = 92;

function readElement(r: Reader): Node | undefined {
  const s = r.s;
  if (s.charCodeAt(r.pos) === QUOTE) {
    r.pos++;
    let text = "";
    let run = r.pos;
    for (;;) {
      if (r.pos >= s.length) return undefined;
      const c = s.charCodeAt(r.pos);
      if (c === QUOTE) {
        text += s.slice(run, r.pos);
        r.pos++;
        return { text };
      }
      if (c === BACKSLASH) {
        if (r.pos + 1 >= s.length) return undefined;
        text += s.slice(run, r.pos);
        run = r.pos + 1;
        r.pos += 2;
      } else r.pos++;
    }
  }
  let text = "";
  let trailingSpace = 0; // unescaped whitespace at the end, dropped
  let escaped = false;
  let run = r.pos;
  for (;;) {
    if (r.pos >= s.length) return undefined;
    const c = s.charCodeAt(r.pos);
    if (c === QUOTE || c === 123) return undefined;
    if (c === 44 || c === 125) break;
    if (c === BACKSLASH) {
      if (r.pos + 1 >= s.length) return undefined;
      text += s.slice(run, r.pos);
      run = r.pos + 1;
      r.pos += 2;
      escaped = true;
      trailingSpace = 0;
    } else {
      r.pos++;
      trailingSpace = isSpace(c) ? trailingSpace + 1 : 0;
    }
  }
  text += s.slice(run, r.pos);
  text = text.slice(0, text.length - trailingSpace);
  if (text === "" && !escaped) return undefined;
  return { text: !escaped && text.toUpperCase() === "NULL" ? null : text };
}

/** Dimensions read down the first children; undefined if a non-top-level list is empty. */
function measure(root: Node): number[] | undefined {
  const dims: number[] = [];
  let n = root;
  while (!("text" in n)) {
    const first = n.list[0];
    if (first === undefined) return undefined;
    dims.push(n.list.length);
    n = first;
  }
  return dims;
}

/** Row-major elements; false when the nesting is not rectangular. */
function flatten(node: Node, depth: number, dims: number[], items: (string | null)[]): boolean {
  if ("text" in node) {
    if (depth !== dims.length) return false;
    items.push(node.text);
    return true;
  }
  if (depth >= dims.length || node.list.length !== dims[depth]) return false;
  return node.list.every((c) => flatten(c, depth + 1, dims, items));
}

const BOUNDS = /^((?:\[[+-]?\d{1,10}:[+-]?\d{1,10}\]){1,6})[ \t\n\r\v\f]*=[ \t\n\r\v\f]*/;

/**
 * Parses array text; undefined if malformed or out of array_in's limits (it would raise). `m` is charged per
 * character read.
 */
export function parseArrayText(text: string, m: Meter = UNMETERED): ArrayText | undefined {
  const simple = simpleArray(text, m);
  if (simple) return simple;
  charge(m, text.length);
  let body = text;
  let declared: { lo: number; hi: number }[] | undefined;
  const b = BOUNDS.exec(text);
  if (b) {
    declared = [...b[1]!.matchAll(/\[([+-]?\d+):([+-]?\d+)\]/g)].map((x) => ({ lo: Number(x[1]), hi: Number(x[2]) }));
    // array_in: bounds must be int32, upper >= lower, and lower bound + length must not overflow int32.
    if (declared.some((d) => d.lo < INT32_MIN || d.hi > INT32_MAX - 1 || d.hi < d.lo)) return undefined;
    body = text.slice(b[0].length);
  } else if (text.trimStart().startsWith("[")) return undefined;
  const r = new Reader(body);
  r.skipSpace();
  const root = readList(r, 1);
  r.skipSpace();
  if (!root || r.pos !== body.length) return undefined;
  if (isEmptyNest(root)) {
    if (declared) return undefined;
    return { dims: [], lbounds: [], items: [] };
  }
  const dims = measure(root);
  const items: (string | null)[] = [];
  if (!dims || !flatten(root, 0, dims, items)) return undefined;
  charge(m, items.length * ARRAY_ELEMENT_STEPS);
  if (!declared) return { dims, lbounds: dims.map(() => 1), items };
  if (declared.length !== dims.length || declared.some((d, i) => d.hi - d.lo + 1 !== dims[i])) return undefined;
  return { dims, lbounds: declared.map((d) => d.lo), items };
}

/** Characters that make an array text more than a flat list of plain elements. */
const NOT_SIMPLE = /[ \t\n\r\v\f"\\{}[\]]/;

/**
 * `{a,b,NULL}` without quotes, escapes, spaces, nesting or bounds (most of array_out's output): split natively.
 * Undefined when the text is not of that form (it may still be valid).
 */
function simpleArray(text: string, m: Meter): ArrayText | undefined {
  if (text.charCodeAt(0) !== 123 || text.charCodeAt(text.length - 1) !== 125) return undefined;
  const inner = text.slice(1, -1);
  if (NOT_SIMPLE.test(inner)) return undefined;
  charge(m, linearCost(text.length));
  if (inner === "") return { dims: [], lbounds: [], items: [] };
  const items: (string | null)[] = inner.split(",");
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item === "") return undefined;
    if (item.length === 4 && item.toUpperCase() === "NULL") items[i] = null;
  }
  charge(m, items.length * ARRAY_ELEMENT_STEPS);
  return { dims: [items.length], lbounds: [1], items };
}

/** `{}` and `{{}}`: array_in reads both as the empty array. */
function isEmptyNest(node: Node): boolean {
  if ("text" in node) return false;
  return node.list.length === 0 || (node.list.length === 1 && isEmptyNest(node.list[0]!));
}

function quoteElement(text: string | null): string {
  if (text === null) return "NULL";
  if (text === "" || /[{}",\\ \t\n\r\v\f]/.test(text) || text.toUpperCase() === "NULL") {
    return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  }
  return text;
}

/** array_out. */
export function formatArrayText(a: ArrayText): string {
  if (a.dims.length === 0) return "{}";
  let i = 0;
  const build = (depth: number): string => {
    const parts: string[] = [];
    for (let k = 0; k < a.dims[depth]!; k++) parts.push(depth === a.dims.length - 1 ? quoteElement(a.items[i++] ?? null) : build(depth + 1));
    return `{${parts.join(",")}}`;
  };
  const prefix = a.lbounds.some((l) => l !== 1) ? `${a.dims.map((d, k) => `[${a.lbounds[k]}:${a.lbounds[k]! + d - 1}]`).join("")}=` : "";
  return prefix + build(0);
}
