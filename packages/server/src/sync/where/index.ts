export { compileWhere, WhereBudgetError, WhereClauseError, WhereEvaluationError } from "./compile.ts";
export type { ColumnInfo, CompiledWhere, CompileOptions } from "./compile.ts";
export { DEFAULT_STEP_BUDGET } from "./budget.ts";
export { WHERE_LIMITS } from "./limits.ts";
