/**
 * Errors of the where-clause compiler. `WhereClauseError` is bad input (the client's where clause or params):
 * the HTTP layer maps it to a 400 on the `where` parameter. `WhereEvaluationError` is raised by `matches()` on a row
 * for which PostgreSQL itself raises an error (overflow, division by zero, ...): the shape's snapshot query would
 * fail on the same row, so neither "match" nor "no match" is a correct answer.
 */
export class WhereClauseError extends Error {
  /** Stable code for the API error body. */
  readonly code = "invalid_where_clause";
  /** Set when the clause is valid SQL that the evaluator does not support; names the construct (`now()`, `subquery`). */
  readonly unsupported: string | undefined;

  constructor(message: string, unsupported?: string) {
    super(message);
    this.name = "WhereClauseError";
    this.unsupported = unsupported;
  }
}

/**
 * A construct that parses but is outside the supported subset: `unsupported("function", "now()")` gives the message
 * `unsupported function "now()"` and `unsupported: "now()"`; `unsupported("subquery")` gives `unsupported subquery`.
 * `hint` is appended after a colon.
 */
export function unsupported(kind: string, name?: string, hint?: string): WhereClauseError {
  const message = `unsupported ${kind}${name === undefined ? "" : ` "${name}"`}${hint ? `: ${hint}` : ""}`;
  return new WhereClauseError(message, name ?? kind);
}

export class WhereEvaluationError extends Error {
  readonly code = "where_evaluation_failed";

  constructor(message: string) {
    super(message);
    this.name = "WhereEvaluationError";
  }
}

/**
 * Raised by `matches()` when evaluating the clause on one row would take more work than the clause's step budget
 * (see budget.ts). It says nothing about what PostgreSQL would answer, only that answering costs too much, so it is
 * deliberately not a WhereEvaluationError: callers can tell "too expensive" from "PostgreSQL raises here".
 */
export class WhereBudgetError extends Error {
  readonly code = "where_budget_exceeded";
  /** The budget that was exceeded, in steps. */
  readonly budget: number;

  constructor(budget: number) {
    super(`evaluating the where clause on this row takes more than its budget of ${budget} steps`);
    this.name = "WhereBudgetError";
    this.budget = budget;
  }
}
