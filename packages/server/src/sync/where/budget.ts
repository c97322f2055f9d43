/**
 * The work budget of one evaluation (SPEC.md W9). Every operation whose cost grows with its input (LIKE matching,
 * numeric digits, array elements, jsonb nodes, string building, parsing a row's text) charges steps to a Meter
 * before or while doing the work; running out throws WhereBudgetError. Operations of constant cost charge nothing,
 * so `id = $1` pays only for creating the meter.
 *
 * A step is roughly one character comparison of the LIKE matcher, the slowest per-unit loop here (about 1 ns on
 * the development machine). Costs of native operations (string copies, BigInt arithmetic) are expressed in the same
 * unit from measurements, rounded up. DEFAULT_STEP_BUDGET keeps one evaluation near 1 ms there, so about 2 ms on a
 * machine twice as slow.
 */
import { WhereBudgetError } from "./errors.ts";

export const DEFAULT_STEP_BUDGET = 1_000_000;

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
  return digits < 100 ? 1 : digits + Math.ceil((digits * digits) / 200);
}

/** Cost of multiplying or dividing BigInts of `a` and `b` decimal digits (schoolbook bound on 64-bit words). */
export function bigIntProductCost(a: number, b: number): number {
  const wa = Math.ceil(a / 19);
  const wb = Math.ceil(b / 19);
  return wa * wb < 16 ? 1 : wa * wb;
}

/** Cost of a native linear pass (copy, compare, regex) over `chars` characters. */
export function linearCost(chars: number): number {
  return chars < 256 ? 0 : chars >> 3;
}
