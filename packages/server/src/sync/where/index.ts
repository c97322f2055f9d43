export { compileWhere, WhereClauseError, WhereEvaluationError } from "./compile.ts";
export type { ColumnInfo, CompiledWhere } from "./compile.ts";
