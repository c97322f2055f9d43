/**
 * jsonb values, for equality (jsonb_eq). PostgreSQL normalises jsonb on input: numbers are numerics (so 1.0 = 1),
 * duplicate object keys keep the last value, keys are stored sorted (shorter first, then by bytes), array order is
 * kept. Its output (jsonb_out, src/backend/utils/adt/jsonb.c, read for facts) is therefore canonical: one text per
 * value, up to the display scale of numbers: `{"a": 2, "bb": [1, 2.50]}`.
 *
 * So a jsonb value is held as that text with every number's trailing fractional zeros removed (`2.50` -> `2.5`,
 * `1.0` -> `1`), and two values are equal exactly when these texts are (W2). A row's text is PostgreSQL's output
 * already and only needs the number pass, which is linear and native (no parse: a large document costs little).
 * A constant or param is parsed (iteratively, within the literal limits of W10; strings with the escape \u0000 or
 * unpaired surrogates are rejected as jsonb_in does) and printed the way jsonb_out prints. Ordering of jsonb is not
 * supported.
 */
import { UNMETERED, charge, linearCost, type Meter } from "./budget.ts";
import { formatNumeric, parseNumeric, type Numeric } from "./pg-numeric.ts";
import { compareText } from "./pg-text.ts";

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = /[ \t\n\r]*/y;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
/** Nesting allowed in client constants and params (W10); row values may nest as deep as PostgreSQL allows. */
export const MAX_CONSTANT_JSON_DEPTH = 100;

class JsonSyntaxError extends Error {}

/** A parsed constant. */
export type Json =
  | { readonly t: "null" }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "num"; readonly v: Numeric }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "arr"; readonly v: Json[] }
  | { readonly t: "obj"; readonly v: Map<string, Json> };

/** An array or object being read: its items so far, and for objects the key of the value being read. */
type Open = { arr: Json[] } | { obj: Map<string, Json>; key: string };

/**
 * jsonb_in's grammar, read iteratively with an explicit stack of open arrays and objects, so nesting depth costs
 * memory, not JavaScript stack (W11). Each value costs a step, each character read one more.
 */
class Parser {
  pos = 0;
  constructor(
    private readonly s: string,
    private readonly strict: boolean,
    private readonly m: Meter,
  ) {}

  ws(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.s);
    this.pos = WS.lastIndex;
  }

  fail(): never {
    throw new JsonSyntaxError();
  }

  /** A scalar at pos, or undefined when an array or object opens there. */
  scalar(): Json | undefined {
    const c = this.s[this.pos];
    if (c === "{" || c === "[") return undefined;
    if (c === '"') return { t: "str", v: this.string() };
    for (const [word, value] of [["true", { t: "bool", v: true }], ["false", { t: "bool", v: false }], ["null", { t: "null" }]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.pos;
    const found = NUMBER.exec(this.s);
    if (!found) this.fail();
    this.pos = NUMBER.lastIndex;
    const n = parseNumeric(found[0], this.strict, this.m);
    if (!n) this.fail();
    return { t: "num", v: n };
  }

  /** After `{` or `,` in an object: the key and its colon. */
  key(): string {
    this.ws();
    if (this.s[this.pos] !== '"') this.fail();
    const key = this.string();
    this.ws();
    if (this.s[this.pos++] !== ":") this.fail();
    return key;
  }

  value(): Json {
    const stack: Open[] = [];
    for (;;) {
      charge(this.m, 1);
      this.ws();
      let v = this.scalar();
      if (v === undefined) {
        const open = this.s[this.pos++];
        if (this.strict && stack.length >= MAX_CONSTANT_JSON_DEPTH) this.fail();
        this.ws();
        if (open === "[") {
          if (this.s[this.pos] !== "]") {
            stack.push({ arr: [] });
            continue;
          }
          this.pos++;
          v = { t: "arr", v: [] };
        } else {
          if (this.s[this.pos] !== "}") {
            stack.push({ obj: new Map(), key: this.key() });
            continue;
          }
          this.pos++;
          v = { t: "obj", v: new Map() };
        }
      }
      // Hand v to the enclosing containers, closing every one that ends here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (!top) return v;
        if ("arr" in top) top.arr.push(v);
        else top.obj.set(top.key, v);
        this.ws();
        const c = this.s[this.pos++];
        if (c === ",") {
          if ("obj" in top) top.key = this.key();
          break;
        }
        if (("arr" in top && c !== "]") || ("obj" in top && c !== "}")) this.fail();
        stack.pop();
        v = "arr" in top ? { t: "arr", v: top.arr } : { t: "obj", v: top.obj };
      }
    }
  }

  string(): string {
    this.pos++;
    let out = "";
    for (;;) {
      const c = this.s[this.pos++];
      if (c === undefined || c < " ") this.fail();
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.s[this.pos++];
      if (e === undefined) this.fail();
      if (e !== "u") {
        const r = ESCAPES[e];
        if (r === undefined) this.fail();
        out += r;
        continue;
      }
      const code = this.hex4();
      if (code === 0) this.fail();
      if (code >= 0xdc00 && code <= 0xdfff) this.fail();
      if (code >= 0xd800 && code <= 0xdbff) {
        if (this.s[this.pos] !== "\\" || this.s[this.pos + 1] !== "u") this.fail();
        this.pos += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) this.fail();
        out += String.fromCharCode(code, low);
      } else out += String.fromCharCode(code);
    }
  }

  hex4(): number {
    const h = this.s.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail();
    this.pos += 4;
    return parseInt(h, 16);
  }
}

/** escape_json: the escapes jsonb_out writes in strings. */
function quoteJson(text: string): string {
  return `"${text.replace(/["\\\u0000-\u001f]/g, (c) => {
    switch (c) {
      case '"':
        return '\\"';
      case "\\":
        return "\\\\";
      case "\b":
        return "\\b";
      case "\f":
        return "\\f";
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    }
  })}"`;
}

/** jsonb's key order: shorter (in UTF-8 bytes) first, then by bytes, which is code point order. */
function compareKeys(a: string, b: string): number {
  const la = Buffer.byteLength(a, "utf8");
  const lb = Buffer.byteLength(b, "utf8");
  if (la !== lb) return la - lb;
  return compareText(a, b);
}

/** jsonb_out's text of a parsed constant (recursive: constants nest at most MAX_CONSTANT_JSON_DEPTH levels). */
function canonical(j: Json): string {
  switch (j.t) {
    case "null":
      return "null";
    case "bool":
      return String(j.v);
    case "num":
      return formatNumeric(j.v);
    case "str":
      return quoteJson(j.v);
    case "arr":
      return `[${j.v.map(canonical).join(", ")}]`;
    case "obj":
      return `{${[...j.v.keys()].sort(compareKeys).map((k) => `${quoteJson(k)}: ${canonical(j.v.get(k)!)}`).join(", ")}}`;
  }
}

/** A string constant, or a fractional part (which outside strings only numbers have). */
const FRACTIONS = /"(?:[^"\\]|\\[\s\S])*"|\.\d+/g;

/** Removes trailing fractional zeros from every number of jsonb_out text, so that equal numbers print alike. */
function normalizeNumbers(text: string, m: Meter): string {
  if (!text.includes(".")) return text;
  charge(m, text.length * 3);
  return text.replace(FRACTIONS, (t) => {
    if (t.charCodeAt(0) === 34) return t;
    const kept = t.replace(/0+$/, "");
    return kept === "." ? "" : kept;
  });
}

/**
 * A jsonb value from text; undefined when PostgreSQL would reject it. `strict` is client input (constants, params):
 * parsed, checked and printed as jsonb_out does, within the limits of W10. Otherwise the text is a row's, which
 * PostgreSQL printed with jsonb_out.
 */
export function parseJsonb(text: string, strict: boolean, m: Meter = UNMETERED): string | undefined {
  if (!strict) {
    charge(m, linearCost(text.length));
    return normalizeNumbers(text, m);
  }
  charge(m, text.length);
  if (/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) return undefined;
  const p = new Parser(text, strict, m);
  try {
    const v = p.value();
    p.ws();
    return p.pos === text.length ? normalizeNumbers(canonical(v), m) : undefined;
  } catch (e) {
    if (e instanceof JsonSyntaxError) return undefined;
    throw e;
  }
}
