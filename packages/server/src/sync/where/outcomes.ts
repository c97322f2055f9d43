/**
 * Sets of possible three-valued results, as bit masks, for clauses nothing in which can raise in PostgreSQL (W6,
 * W12). There the only errors are the row's own: a column missing from the row, or text that is not a valid value.
 * Such a part counts as "any of TRUE, FALSE, NULL" and sets are combined: a row matches when the set is {TRUE},
 * does not when TRUE is not in the set, and only otherwise is the error raised. Clauses that can raise are not
 * evaluated this way: their order is fixed by the printed SQL and followed exactly (evaluate.ts compileExpr).
 */
import type { BoolTestKind } from "./ast.ts";

export const TRUE = 1;
export const FALSE = 2;
export const NULL = 4;
export const ANY = TRUE | FALSE | NULL;

const ALL = [TRUE, FALSE, NULL];

function combine(a: number, b: number, op: (x: number, y: number) => number): number {
  let r = 0;
  for (const x of ALL) {
    if (!(a & x)) continue;
    for (const y of ALL) if (b & y) r |= op(x, y);
  }
  return r;
}

const and3 = (x: number, y: number) => (x === FALSE || y === FALSE ? FALSE : x === NULL || y === NULL ? NULL : TRUE);
const or3 = (x: number, y: number) => (x === TRUE || y === TRUE ? TRUE : x === NULL || y === NULL ? NULL : FALSE);

export function andOutcomes(a: number, b: number): number {
  return combine(a, b, and3);
}

export function orOutcomes(a: number, b: number): number {
  return combine(a, b, or3);
}

export function notOutcomes(a: number): number {
  return (a & TRUE ? FALSE : 0) | (a & FALSE ? TRUE : 0) | (a & NULL);
}

/** IS [NOT] TRUE / FALSE / UNKNOWN. */
export function testOutcomes(a: number, test: BoolTestKind, negated: boolean): number {
  const want = test === "true" ? TRUE : test === "false" ? FALSE : NULL;
  let r = 0;
  for (const x of ALL) if (a & x) r |= (x === want) !== negated ? TRUE : FALSE;
  return r;
}

export function outcomeOf(v: boolean | null): number {
  return v === null ? NULL : v ? TRUE : FALSE;
}
