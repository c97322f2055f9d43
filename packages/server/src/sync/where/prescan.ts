/**
 * A quick look at a where clause's tokens before libpg-query parses it (W10). The parser and its JSON output
 * recurse once per level of the parse tree; a clause nested a few thousand levels deep exhausts the stack inside the
 * WASM module, which leaks the parse's memory. So the clause is refused before parsing when what could make the tree
 * deep or large is too plentiful: brackets nested too deep, too many operators (every operator, prefix or infix, can
 * add a level: `1 + 1 + ...` and `NOT NOT ...` nest), too many operands.
 *
 * The scan follows PostgreSQL's lexical rules closely enough to skip what is not code (string constants in every
 * form, quoted identifiers, dollar quotes, nested comments); where it is unsure it counts more, never less. It only
 * bounds the input: the real parse comes after.
 */

export interface Scan {
  /** Operator characters and operator keywords (NOT, IS, IN, LIKE, BETWEEN, ...). AND and OR are not counted: the
   * grammar flattens chains of them into one node. */
  operators: number;
  /** Identifiers, numbers, strings and params. */
  operands: number;
  /** Deepest nesting of ( and [. */
  depth: number;
}

const OPERATOR_CHARS = new Set("+-*/<>=~!@#%^&|`?");
const OPERATOR_WORDS = new Set([
  "not", "is", "isnull", "notnull", "in", "like", "ilike", "similar", "between", "collate", "at", "case", "when",
  "then", "else", "array", "row", "exists", "overlaps", "escape", "any", "some", "all", "cast", "distinct", "from",
]);

function isIdentStart(c: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(c);
}

function isIdentChar(c: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}

/** End of a quoted run started at `start` (the opening quote), with doubled quotes as escapes (and backslashes if `escapes`). */
function skipQuoted(s: string, start: number, quote: string, escapes: boolean): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s[i]!;
    if (escapes && c === "\\") {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (s[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return s.length;
}

export function prescan(s: string): Scan {
  const scan: Scan = { operators: 0, operands: 0, depth: 0 };
  let depth = 0;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v") {
      i++;
    } else if (c === "-" && s[i + 1] === "-") {
      const nl = s.indexOf("\n", i);
      i = nl < 0 ? s.length : nl + 1;
    } else if (c === "/" && s[i + 1] === "*") {
      let nest = 1;
      i += 2;
      while (i < s.length && nest > 0) {
        if (s[i] === "/" && s[i + 1] === "*") {
          nest++;
          i += 2;
        } else if (s[i] === "*" && s[i + 1] === "/") {
          nest--;
          i += 2;
        } else i++;
      }
    } else if (c === "'") {
      scan.operands++;
      i = skipQuoted(s, i, "'", false);
    } else if (c === '"') {
      scan.operands++;
      i = skipQuoted(s, i, '"', false);
    } else if (c === "$") {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(s.slice(i, i + 200));
      if (tag) {
        const end = s.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? s.length : end + tag[0].length;
      } else {
        i++;
        while (i < s.length && /[0-9]/.test(s[i]!)) i++;
      }
      scan.operands++;
    } else if (/[0-9.]/.test(c) && (c !== "." || /[0-9]/.test(s[i + 1] ?? ""))) {
      scan.operands++;
      i++;
      while (i < s.length && /[0-9A-Za-z_.]/.test(s[i]!)) {
        // An exponent's sign belongs to the number.
        if (/[eE]/.test(s[i]!) && /[+-]/.test(s[i + 1] ?? "")) i++;
        i++;
      }
    } else if (isIdentStart(c)) {
      const start = i;
      while (i < s.length && isIdentChar(s[i]!)) i++;
      const word = s.slice(start, i).toLowerCase();
      if (s[i] === "'" && (word === "e" || word === "b" || word === "x" || word === "n")) {
        i = skipQuoted(s, i, "'", word === "e");
      } else if (word === "u" && s[i] === "&" && (s[i + 1] === "'" || s[i + 1] === '"')) {
        i = skipQuoted(s, i + 1, s[i + 1]!, false);
      } else if (OPERATOR_WORDS.has(word)) {
        scan.operators++;
        continue;
      }
      scan.operands++;
    } else if (c === "(" || c === "[") {
      depth++;
      scan.depth = Math.max(scan.depth, depth);
      i++;
    } else if (c === ")" || c === "]") {
      depth = Math.max(0, depth - 1);
      i++;
    } else if (c === ":" && s[i + 1] === ":") {
      scan.operators++;
      i += 2;
    } else {
      if (OPERATOR_CHARS.has(c)) scan.operators++;
      i++;
    }
  }
  return scan;
}
