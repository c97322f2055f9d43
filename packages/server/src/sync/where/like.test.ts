/**
 * W11: LIKE matching is iterative and bounded. The iterative matcher is compared with a direct recursive
 * transcription of MatchText's control flow (the reference below, fine for short inputs) on many random texts and
 * patterns, errors included; hostile inputs that made the recursive matcher overflow the stack are answered.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { meter } from "./budget.ts";
import { WhereBudgetError, WhereEvaluationError } from "./errors.ts";
import { like } from "./like.ts";

/** MatchText as it recurses (like_match.c), over code points: the reference for short inputs. */
function reference(text: string, pattern: string): boolean {
  const t = Array.from(text);
  const p = Array.from(pattern);
  const raise = (): never => {
    throw new WhereEvaluationError("LIKE pattern must not end with escape character");
  };
  const match = (ti: number, pi: number): number => {
    while (ti < t.length && pi < p.length) {
      const c = p[pi]!;
      if (c === "\\") {
        pi++;
        if (pi >= p.length) raise();
        if (p[pi] !== t[ti]) return 0;
      } else if (c === "%") {
        pi++;
        while (pi < p.length) {
          if (p[pi] === "%") pi++;
          else if (p[pi] === "_") {
            if (ti >= t.length) return -1;
            ti++;
            pi++;
          } else break;
        }
        if (pi >= p.length) return 1;
        let first = p[pi]!;
        if (first === "\\") {
          if (pi + 1 >= p.length) raise();
          first = p[pi + 1]!;
        }
        for (; ti < t.length; ti++) {
          if (t[ti] === first) {
            const r = match(ti, pi);
            if (r !== 0) return r;
          }
        }
        return -1;
      } else if (c !== "_" && c !== t[ti]) return 0;
      ti++;
      pi++;
    }
    if (ti < t.length) return 0;
    while (pi < p.length && p[pi] === "%") pi++;
    return pi >= p.length ? 1 : -1;
  };
  return match(0, 0) === 1;
}

function outcome(f: () => boolean): string {
  try {
    return String(f());
  } catch (e) {
    if (e instanceof WhereEvaluationError) return "error";
    throw e;
  }
}

describe("LIKE (W11)", () => {
  test("agrees with MatchText's recursive control flow on random texts and patterns, errors included", () => {
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const chars = ["a", "b", "%", "_", "\\", "😀", "é"];
    const word = (alphabet: string[], max: number) => Array.from({ length: Math.floor(rnd() * max) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join("");
    const counts = { true: 0, false: 0, error: 0 };
    for (let i = 0; i < 20000; i++) {
      const text = word(chars, 8);
      const pattern = word(chars, 8);
      const want = outcome(() => reference(text, pattern));
      assert.equal(outcome(() => like(text, pattern)), want, `${JSON.stringify(text)} LIKE ${JSON.stringify(pattern)}`);
      counts[want as keyof typeof counts]++;
    }
    // The random inputs exercise every outcome, trailing-escape errors included.
    assert.ok(counts.true > 1000 && counts.false > 1000 && counts.error > 100, JSON.stringify(counts));
  });

  test("raises for a trailing escape exactly where the matcher reaches it", () => {
    assert.equal(outcome(() => like("a", "a\\")), "false", "the text ends before the escape is read");
    assert.equal(outcome(() => like("ab", "a\\")), "error");
    assert.equal(outcome(() => like("abc", "a\\")), "error");
    assert.equal(outcome(() => like("xyz", "%\\")), "error", "% needs the escaped character to scan for");
    assert.equal(outcome(() => like("", "\\")), "false");
    assert.equal(outcome(() => like("x", "%_%_\\")), "false", "not enough text for the _'s: aborted before the escape");
    assert.equal(outcome(() => like("ab", "b%\\")), "false", "the first character already fails");
    assert.equal(outcome(() => like("a%b_c", "a\\%b\\_%")), "true");
  });

  test("a pattern recursing 20,000 levels in MatchText is answered without recursion", () => {
    const s = "%a".repeat(20000);
    assert.equal(like(s, s), true);
    assert.equal(like(`${"a".repeat(20000)}b`, "%a".repeat(20000)), false);
    assert.equal(like("a".repeat(20000), "%a".repeat(20000)), true);
  });

  test("every step is charged: a backtracking search stops with WhereBudgetError", () => {
    const text = "a".repeat(100_000);
    const m = meter(1_000_000);
    assert.equal(like(text, "%a%a%a%c", m), false);
    assert.ok(m.left < 1_000_000 - 100_000, `charged only ${1_000_000 - m.left} steps`);
    assert.throws(() => like(text, "%" + "a".repeat(50) + "b%", meter(100_000)), WhereBudgetError);
  });
});
