/**
 * Sets of possible three-valued results, as bit masks. A boolean subexpression that raises an error in PostgreSQL
 * could have been skipped there (AND/OR short-circuits, the planner reordering or folding quals), so the evaluator
 * treats it as "any of TRUE, FALSE, NULL" and combines sets: a row matches when the set is {TRUE}, does not when
 * TRUE is not in the set, and only otherwise is it an error (W6). When PostgreSQL finishes a query, every error it
 * skipped was in a part whose value did not matter, so this gives PostgreSQL's answer for that row.
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

/** The single value a set stands for, or undefined when it has several. */
export function valueOf(a: number): boolean | null | undefined {
  return a === TRUE ? true : a === FALSE ? false : a === NULL ? null : undefined;
}
