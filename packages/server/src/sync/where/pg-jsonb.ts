/**
 * jsonb values for equality (jsonb_eq). PostgreSQL normalises jsonb on input: numbers are numerics (so 1.0 = 1),
 * duplicate object keys keep the last value, key order does not matter, array order does. Strings with the
 * escape \u0000 or unpaired surrogates are rejected by jsonb_in, and so here. Ordering of jsonb is not supported.
 */
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
const MAX_DEPTH = 2000; // deeper input is rejected rather than risking the JS stack

class JsonSyntaxError extends Error {}

class Parser {
  pos = 0;
  constructor(private readonly s: string, private readonly strict: boolean) {}

  ws(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.s);
    this.pos = WS.lastIndex;
  }

  fail(): never {
    throw new JsonSyntaxError();
  }

  value(depth: number): Json {
    if (depth > MAX_DEPTH) this.fail();
    this.ws();
    const c = this.s[this.pos];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return { t: "str", v: this.string() };
    for (const [word, value] of [["true", { t: "bool", v: true }], ["false", { t: "bool", v: false }], ["null", { t: "null" }]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.s);
    if (!m) this.fail();
    this.pos = NUMBER.lastIndex;
    const n = parseNumeric(m[0], this.strict);
    if (!n) this.fail();
    return { t: "num", v: n };
  }

  object(depth: number): Json {
    this.pos++;
    const v = new Map<string, Json>();
    this.ws();
    if (this.s[this.pos] === "}") {
      this.pos++;
      return { t: "obj", v };
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') this.fail();
      const key = this.string();
      this.ws();
      if (this.s[this.pos++] !== ":") this.fail();
      v.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s[this.pos++];
      if (c === "}") return { t: "obj", v };
      if (c !== ",") this.fail();
    }
  }

  array(depth: number): Json {
    this.pos++;
    const v: Json[] = [];
    this.ws();
    if (this.s[this.pos] === "]") {
      this.pos++;
      return { t: "arr", v };
    }
    for (;;) {
      v.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.pos++];
      if (c === "]") return { t: "arr", v };
      if (c !== ",") this.fail();
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

/** jsonb_in; undefined when PostgreSQL would reject the text. `strict` applies the numeric input limits. */
export function parseJsonb(text: string, strict: boolean): Json | undefined {
  if (/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) return undefined;
  const p = new Parser(text, strict);
  try {
    const v = p.value(0);
    p.ws();
    return p.pos === text.length ? v : undefined;
  } catch (e) {
    if (e instanceof JsonSyntaxError) return undefined;
    throw e;
  }
}

export function jsonbEquals(a: Json, b: Json): boolean {
  switch (a.t) {
    case "null":
      return b.t === "null";
    case "bool":
      return b.t === "bool" && a.v === b.v;
    case "num":
      return b.t === "num" && compareNumeric(a.v, b.v) === 0;
    case "str":
      return b.t === "str" && a.v === b.v;
    case "arr":
      return b.t === "arr" && a.v.length === b.v.length && a.v.every((x, i) => jsonbEquals(x, b.v[i]!));
    case "obj": {
      if (b.t !== "obj" || a.v.size !== b.v.size) return false;
      for (const [k, x] of a.v) {
        const y = b.v.get(k);
        if (y === undefined || !jsonbEquals(x, y)) return false;
      }
      return true;
    }
  }
}
