/**
 * jsonb values for equality (jsonb_eq). PostgreSQL normalises jsonb on input: numbers are numerics (so 1.0 = 1),
 * duplicate object keys keep the last value, key order does not matter, array order does. Strings with the
 * escape \u0000 or unpaired surrogates are rejected by jsonb_in, and so here. Ordering of jsonb is not supported.
 * Reading and comparing are iterative (no recursion on nesting) and charged to the meter.
 */
import { UNMETERED, charge, type Meter } from "./budget.ts";
import { compareNumeric, parseNumeric, type Numeric } from "./pg-numeric.ts";

export type Json =
  | { readonly t: "null" }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "num"; readonly v: Numeric }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "arr"; readonly v: Json[] }
  | { readonly t: "obj"; readonly v: Map<string, Json> };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = /[ \t\n\r]*/y;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
/** Nesting allowed in client constants and params (W10); row values may nest as deep as PostgreSQL allows. */
export const MAX_CONSTANT_JSON_DEPTH = 100;

class JsonSyntaxError extends Error {}

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

/**
 * jsonb_in; undefined when PostgreSQL would reject the text. `strict` (client constants and params) applies the
 * numeric literal limits and MAX_CONSTANT_JSON_DEPTH.
 */
export function parseJsonb(text: string, strict: boolean, m: Meter = UNMETERED): Json | undefined {
  charge(m, text.length);
  if (/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) return undefined;
  const p = new Parser(text, strict, m);
  try {
    const v = p.value();
    p.ws();
    return p.pos === text.length ? v : undefined;
  } catch (e) {
    if (e instanceof JsonSyntaxError) return undefined;
    throw e;
  }
}

/** jsonb_eq, iteratively over pairs of nodes still to compare; each pair costs a step. */
export function jsonbEquals(a: Json, b: Json, m: Meter = UNMETERED): boolean {
  const pending: [Json, Json][] = [[a, b]];
  for (let pair = pending.pop(); pair; pair = pending.pop()) {
    charge(m, 1);
    const [x, y] = pair;
    switch (x.t) {
      case "null":
        if (y.t !== "null") return false;
        break;
      case "bool":
        if (y.t !== "bool" || x.v !== y.v) return false;
        break;
      case "num":
        if (y.t !== "num" || compareNumeric(x.v, y.v, m) !== 0) return false;
        break;
      case "str":
        if (y.t !== "str" || x.v !== y.v) return false;
        break;
      case "arr":
        if (y.t !== "arr" || x.v.length !== y.v.length) return false;
        for (let i = 0; i < x.v.length; i++) pending.push([x.v[i]!, y.v[i]!]);
        break;
      case "obj": {
        if (y.t !== "obj" || x.v.size !== y.v.size) return false;
        for (const [k, xv] of x.v) {
          const yv = y.v.get(k);
          if (yv === undefined) return false;
          pending.push([xv, yv]);
        }
        break;
      }
    }
  }
  return true;
}
