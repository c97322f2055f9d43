/**
 * The work budget of one evaluation (SPEC.md W9). Every operation whose cost grows with its input (LIKE matching,
 * numeric digits, array elements, jsonb nodes, string building, parsing a row's text) charges steps to a Meter
 * before or while doing the work; running out throws WhereBudgetError. Work of constant size is charged in bulk
 * (the clause's node count once per evaluation, each column read), so `id = $1` pays a meter object and two
 * subtractions.
 *
 * A step is one character comparison of the LIKE matcher: 4.5 to 14 ns on the 2-core development machine,
 * depending on its load. The costs of other work are expressed in the same unit from measurements there, rounded
 * up so that no kind of work runs much slower per step than LIKE: a native pass over a string (===, <,
 * toLowerCase, a regex) costs a step per 4 characters, a JavaScript loop over characters a step per character, an
 * array element read from text 45 steps, an element compared 5, any numeric operation 60 plus the BigInt work by
 * the size of its operands, each node of the clause 8 and each column read 20. DEFAULT_STEP_BUDGET is then
 * about 0.7 to 2 ms of work on that machine (SPEC.md W9).
 */
import { WhereBudgetError } from "./errors.ts";

export const DEFAULT_STEP_BUDGET = 150_000;

/** Reading one array element from text (splitting, the element's own parse, e.g. a BigInt). */
export const ARRAY_ELEMENT_STEPS = 45;
/** Any numeric operation or read, whatever its size (object and BigInt set-up). */
export const NUMERIC_OP_STEPS = 60;
/** Each node of the evaluated expression, charged once per evaluation (W9): bounds clauses with many cheap nodes. */
export const NODE_STEPS = 8;
/** Reading a column's value from the row's text (once per evaluation and column). */
export const COLUMN_READ_STEPS = 20;
/** Comparing one array element (ANY/ALL, @>, array equality, element casts). */
export const ELEMENT_COMPARE_STEPS = 5;

export interface Meter {
  /** Steps left; below zero means exhausted. */
  left: number;
  /** The budget it started with, for the error message. */
  readonly budget: number;
}

export function meter(budget: number): Meter {
  return { left: budget, budget };
}

/** A meter that never runs out (unit tests of value functions). */
export const UNMETERED: Meter = { left: Infinity, budget: Infinity };

/** Takes `steps` from the meter; throws WhereBudgetError once it is exhausted. */
export function charge(m: Meter, steps: number): void {
  if ((m.left -= steps) < 0) throw new WhereBudgetError(m.budget);
}

/** Cost of converting between a BigInt and its decimal text, `digits` long (V8 does both in quadratic time). */
export function decimalConversionCost(digits: number): number {
  return digits < 100 ? 1 : (digits >> 2) + Math.ceil((digits * digits) / 1500);
}

/** Cost of multiplying or dividing BigInts of `a` and `b` decimal digits (a schoolbook bound on 64-bit words). */
export function bigIntProductCost(a: number, b: number): number {
  const wa = Math.ceil(a / 19);
  const wb = Math.ceil(b / 19);
  return wa * wb < 16 ? 1 : (wa * wb) >> 1;
}

/** Cost of a native linear pass (copy, compare, regex) over `chars` characters. */
export function linearCost(chars: number): number {
  return chars < 64 ? 0 : chars >> 2;
}
