import { RuncastApiError } from "./errors.ts";
import type { ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";
import { requireRun, type RunScope } from "./run-context.ts";

/**
 * Run metadata (Trigger.dev's `metadata` API, specs/trigger-wire.md §2.6).
 *
 * Inside a task, every write applies to a local copy at once (so `metadata.get` sees it) and is
 * buffered; the buffer is sent in one `PUT /api/v1/runs/:id/metadata` at most RUNCAST_METADATA_FLUSH_MS
 * (default 100) ms after the first buffered write, at once on `metadata.flush()`, and at the end of
 * the attempt (before the worker reports it). Flushes of one run are sent one after the other.
 * Outside a task these calls throw; `metadata.updateRun(runId, …)` and `metadata.retrieveRun(runId)`
 * are the explicit API for backend code.
 *
 * Keys are plain top-level keys: a key starting with `$.` is stored literally, not resolved as a
 * JSON path. Keys `__proto__`, `constructor` and `prototype` are rejected. Values are stored as JSON
 * (a Date becomes its ISO string); `set(key, undefined)` deletes the key, as JSON would.
 */

export type MetadataOperation =
  | { type: "set"; key: string; value: unknown }
  | { type: "delete"; key: string }
  | { type: "append"; key: string; value: unknown }
  | { type: "remove"; key: string; value: unknown }
  | { type: "increment"; key: string; value: number }
  | { type: "update"; value: Record<string, unknown> };

/** The body of an explicit update: `metadata` replaces first, then the operation lists apply in order. */
export interface MetadataUpdateBody {
  operations?: MetadataOperation[];
  /** Applied to the parent run, or to the run itself when it has none. */
  parentOperations?: MetadataOperation[];
  /** Applied to the root run, or to the run itself when it has none. */
  rootOperations?: MetadataOperation[];
  metadata?: Record<string, unknown>;
}

/** Writes to one run's metadata. Each method returns the updater, so calls chain. */
export interface MetadataUpdater {
  set(key: string, value: unknown): MetadataUpdater;
  del(key: string): MetadataUpdater;
  /** Appends to an array; creates it, or wraps an existing non-array value into one. */
  append(key: string, value: unknown): MetadataUpdater;
  /** Removes every array element deep-equal to `value`. */
  remove(key: string, value: unknown): MetadataUpdater;
  /** Adds `n` (default 1); a missing or non-number value counts as 0. */
  increment(key: string, n?: number): MetadataUpdater;
  decrement(key: string, n?: number): MetadataUpdater;
  /** Replaces the whole object. */
  replace(metadata: Record<string, unknown>): MetadataUpdater;
}

/** The server's limit on one run's serialized metadata; checked locally so the error is thrown at the call. */
export const MAX_METADATA_BYTES = 256 * 1024;
export const DEFAULT_METADATA_FLUSH_MS = 100;
/** Where the worker runtime puts the run's metadata (as dequeued) in RunScope.services. */
export const INITIAL_METADATA_SERVICE = "metadata.initial";
const SERVICE = "metadata";
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

type Target = "self" | "parent" | "root";
type Pending = Record<Target, MetadataOperation[]>;

interface RunMetadata {
  run: RunScope;
  store: Record<string, unknown>;
  pending: Pending;
  flushMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Every request of this run's buffer, in order; a link never rejects (failures land in `failure`). */
  chain: Promise<void>;
  failure: unknown;
  /** A flush whose request failed: sent again, with the same id, before anything newer (never applied twice). */
  unsent: MetadataUpdateBody | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra);
  return ka.length === Object.keys(rb).length && ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && jsonEqual(ra[k], rb[k]));
}

/** The same semantics as the server (packages/server/src/engine/metadata-ops.ts). */
function applyOperations(metadata: Record<string, unknown>, ops: readonly MetadataOperation[]): Record<string, unknown> {
  let out: Record<string, unknown> = { ...metadata };
  for (const op of ops) {
    if (op.type === "update") {
      out = { ...op.value };
      continue;
    }
    const cur = out[op.key];
    if (op.type === "set") out[op.key] = op.value;
    else if (op.type === "delete") delete out[op.key];
    else if (op.type === "append") out[op.key] = Array.isArray(cur) ? [...cur, op.value] : cur === undefined ? [op.value] : [cur, op.value];
    else if (op.type === "remove") {
      if (Array.isArray(cur)) out[op.key] = cur.filter((v) => !jsonEqual(v, op.value));
    } else out[op.key] = (typeof cur === "number" ? cur : 0) + op.value;
  }
  return out;
}

/**
 * Adds `op` to a buffered list, dropping what it makes moot: a set or delete of a key replaces the
 * earlier operations on that key since the last `update`; an increment merges into an increment of the
 * same key that is the last operation on it; an `update` replaces the whole list. Operations on other
 * keys commute with these, so the server ends with the same object.
 */
function push(list: MetadataOperation[], op: MetadataOperation): void {
  if (op.type === "update") {
    list.length = 0;
    list.push(op);
    return;
  }
  const barrier = list.findLastIndex((o) => o.type === "update");
  if (op.type === "set" || op.type === "delete") {
    for (let i = list.length - 1; i > barrier; i--) {
      const o = list[i]!;
      if (o.type !== "update" && o.key === op.key) list.splice(i, 1);
    }
  } else if (op.type === "increment") {
    const last = list.findLastIndex((o, i) => i > barrier && o.type !== "update" && o.key === op.key);
    const prev = list[last];
    if (prev?.type === "increment") {
      list[last] = { ...prev, value: prev.value + op.value };
      return;
    }
  }
  list.push(op);
}

function flushInterval(): number {
  const raw = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.RUNCAST_METADATA_FLUSH_MS;
  const ms = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_METADATA_FLUSH_MS;
}

function stateOf(fn: string): RunMetadata {
  const run = requireRun(fn);
  let s = run.services.get(SERVICE) as RunMetadata | undefined;
  if (!s) {
    const initial = run.services.get(INITIAL_METADATA_SERVICE);
    s = {
      run,
      store: isObject(initial) ? { ...initial } : {},
      pending: { self: [], parent: [], root: [] },
      flushMs: flushInterval(),
      timer: undefined,
      chain: Promise.resolve(),
      failure: undefined,
      unsent: undefined,
    };
    const state = s;
    run.services.set(SERVICE, state);
    run.finishers.push(() => flushAndReport(state));
  }
  return s;
}

/** Whether operations for `target` change this run's own metadata (no parent / root: the run itself). */
function landsOnSelf(run: RunScope, target: Target): boolean {
  if (target === "self") return true;
  if (target === "parent") return run.parentRunId === undefined;
  return (run.rootRunId ?? run.parentRunId) === undefined;
}

/** The run's metadata as the server returned it, plus what is still buffered, in the server's order. */
function withPending(s: RunMetadata, base: Record<string, unknown>): Record<string, unknown> {
  let out = base;
  for (const target of ["self", "parent", "root"] as const) {
    if (landsOnSelf(s.run, target) && s.pending[target].length) out = applyOperations(out, s.pending[target]);
  }
  return out;
}

function requestConfig(run: RunScope): { config?: ClientConfig } {
  return run.config ? { config: run.config } : {};
}

/** Writes the buffered operations: one flush, one id, fenced by the attempt. */
async function send(s: RunMetadata): Promise<void> {
  if (s.unsent) {
    // An earlier flush failed: it goes first, as it was (the server applies an id once).
    if (!(await post(s, s.unsent))) return;
    s.unsent = undefined;
  }
  const { self, parent, root } = s.pending;
  if (!self.length && !parent.length && !root.length) return;
  s.pending = { self: [], parent: [], root: [] };
  const body: FlushBody = { batchId: newBatchId(), attemptId: s.run.attemptId };
  if (self.length) body.operations = self;
  if (parent.length) body.parentOperations = parent;
  if (root.length) body.rootOperations = root;
  if (!(await post(s, body))) s.unsent = body;
}

interface FlushBody extends MetadataUpdateBody {
  batchId: string;
  attemptId: string;
}

/** One request; true when it is done with: applied, or refused for good (4xx: the attempt lost the run, bad data). */
async function post(s: RunMetadata, body: FlushBody | MetadataUpdateBody): Promise<boolean> {
  try {
    const res = await apiRequest<{ metadata: Record<string, unknown> }>(`/api/v1/runs/${encodeURIComponent(s.run.runId)}/metadata`, {
      method: "PUT",
      body,
      ...requestConfig(s.run),
    });
    s.store = withPending(s, isObject(res.body.metadata) ? res.body.metadata : {});
    return true;
  } catch (err) {
    // apiRequest already retried 429, 5xx and network errors: the flush is kept and sent again first by the
    // next one. The next flush() call, or the end of the attempt, reports the failure.
    s.failure ??= err;
    return err instanceof RuncastApiError && err.status >= 400 && err.status < 500 && err.status !== 429;
  }
}

function newBatchId(): string {
  return globalThis.crypto.randomUUID();
}

function enqueueLink(s: RunMetadata, fn: () => Promise<void>): Promise<void> {
  if (s.timer !== undefined) {
    clearTimeout(s.timer);
    s.timer = undefined;
  }
  s.chain = s.chain.then(fn);
  return s.chain;
}

function throwFailure(s: RunMetadata): void {
  if (s.failure === undefined) return;
  const err = s.failure;
  s.failure = undefined;
  throw err;
}

async function flushAndReport(s: RunMetadata): Promise<void> {
  await enqueueLink(s, () => send(s));
  throwFailure(s);
}

function jsonValue(fn: string, value: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`${fn}: the value is not JSON-serializable (${err instanceof Error ? err.message : String(err)})`);
  }
  if (text === undefined) throw new TypeError(`${fn}: the value is not JSON-serializable (${typeof value})`);
  return JSON.parse(text);
}

function checkKey(fn: string, key: unknown): string {
  if (typeof key !== "string" || key.length === 0) throw new TypeError(`${fn}: the key must be a non-empty string`);
  const segments = key.startsWith("$.") ? key.slice(2).split(".") : [key];
  const bad = segments.find((k) => FORBIDDEN_KEYS.has(k));
  if (bad !== undefined) throw new TypeError(`${fn}: the key must not name ${JSON.stringify(bad)}`);
  return key;
}

function enqueue(fn: string, target: Target, op: MetadataOperation): void {
  const s = stateOf(fn);
  if (landsOnSelf(s.run, target)) {
    const next = applyOperations(s.store, [op]);
    const size = new TextEncoder().encode(JSON.stringify(next)).length;
    if (size > MAX_METADATA_BYTES) throw new RangeError(`${fn}: the run's metadata would be ${size} bytes; the limit is ${MAX_METADATA_BYTES} bytes`);
    s.store = next;
  }
  push(s.pending[target], op);
  if (s.timer === undefined) {
    s.timer = setTimeout(() => {
      s.timer = undefined;
      void enqueueLink(s, () => send(s));
    }, s.flushMs);
  }
}

function updater(target: Target, name: string, self: () => MetadataUpdater): MetadataUpdater {
  return {
    set(key, value) {
      const fn = `${name}.set`;
      const k = checkKey(fn, key);
      enqueue(fn, target, value === undefined ? { type: "delete", key: k } : { type: "set", key: k, value: jsonValue(fn, value) });
      return self();
    },
    del(key) {
      enqueue(`${name}.del`, target, { type: "delete", key: checkKey(`${name}.del`, key) });
      return self();
    },
    append(key, value) {
      const fn = `${name}.append`;
      enqueue(fn, target, { type: "append", key: checkKey(fn, key), value: jsonValue(fn, value) });
      return self();
    },
    remove(key, value) {
      const fn = `${name}.remove`;
      enqueue(fn, target, { type: "remove", key: checkKey(fn, key), value: jsonValue(fn, value) });
      return self();
    },
    increment(key, n = 1) {
      const fn = `${name}.increment`;
      if (typeof n !== "number" || !Number.isFinite(n)) throw new TypeError(`${fn}: the amount must be a finite number`);
      enqueue(fn, target, { type: "increment", key: checkKey(fn, key), value: n });
      return self();
    },
    decrement(key, n = 1) {
      const fn = `${name}.decrement`;
      if (typeof n !== "number" || !Number.isFinite(n)) throw new TypeError(`${fn}: the amount must be a finite number`);
      enqueue(fn, target, { type: "increment", key: checkKey(fn, key), value: -n });
      return self();
    },
    replace(value) {
      const fn = `${name}.replace`;
      const v = jsonValue(fn, value);
      if (!isObject(v)) throw new TypeError(`${fn}: the metadata must be a plain object`);
      const bad = Object.keys(v).find((k) => FORBIDDEN_KEYS.has(k));
      if (bad !== undefined) throw new TypeError(`${fn}: the metadata must not have a key named ${JSON.stringify(bad)}`);
      enqueue(fn, target, { type: "update", value: v });
      return self();
    },
  };
}

export interface RunMetadataApi extends MetadataUpdater {
  /** The same writes, applied to the parent run (or to this run when it has no parent). */
  readonly parent: MetadataUpdater;
  /** The same writes, applied to the root run (or to this run when it is the root). */
  readonly root: MetadataUpdater;
  /** A value of this run's metadata, including writes not yet flushed. */
  get(key: string): unknown;
  /** A copy of this run's whole metadata, including writes not yet flushed. */
  current(): Record<string, unknown>;
  /** Sends the buffered writes now; throws if this or an earlier timed flush was refused. */
  flush(): Promise<void>;
  /** Flushes, then reloads this run's metadata from the server (picks up writes made from outside). */
  refresh(): Promise<void>;
  /**
   * Outside a task (backend code): applies operations to any run and returns its new metadata.
   * `PUT /api/v1/runs/:runId/metadata`; needs the secret key. Not in Trigger.dev's SDK.
   */
  updateRun(runId: string, body: MetadataUpdateBody, config?: ClientConfig): Promise<Record<string, unknown>>;
  /** Outside a task: a run's current metadata (`GET /api/v1/runs/:runId/metadata`). */
  retrieveRun(runId: string, config?: ClientConfig): Promise<Record<string, unknown>>;
}

const parentUpdater: MetadataUpdater = updater("parent", "metadata.parent", () => parentUpdater);
const rootUpdater: MetadataUpdater = updater("root", "metadata.root", () => rootUpdater);

export const metadata: RunMetadataApi = {
  ...updater("self", "metadata", () => metadata),
  parent: parentUpdater,
  root: rootUpdater,

  get(key) {
    const store = stateOf("metadata.get").store;
    return Object.prototype.hasOwnProperty.call(store, key) ? structuredClone(store[key]) : undefined;
  },

  current() {
    return structuredClone(stateOf("metadata.current").store);
  },

  async flush() {
    await flushAndReport(stateOf("metadata.flush"));
  },

  async refresh() {
    const s = stateOf("metadata.refresh");
    await enqueueLink(s, async () => {
      await send(s);
      try {
        const res = await apiRequest<{ metadata: Record<string, unknown> }>(`/api/v1/runs/${encodeURIComponent(s.run.runId)}/metadata`, requestConfig(s.run));
        s.store = withPending(s, isObject(res.body.metadata) ? res.body.metadata : {});
      } catch (err) {
        s.failure ??= err;
      }
    });
    throwFailure(s);
  },

  async updateRun(runId, body, config) {
    const res = await apiRequest<{ metadata: Record<string, unknown> }>(`/api/v1/runs/${encodeURIComponent(runId)}/metadata`, {
      method: "PUT",
      body,
      ...(config ? { config } : {}),
    });
    return res.body.metadata;
  },

  async retrieveRun(runId, config) {
    const res = await apiRequest<{ metadata: Record<string, unknown> }>(`/api/v1/runs/${encodeURIComponent(runId)}/metadata`, config ? { config } : {});
    return res.body.metadata;
  },
};
