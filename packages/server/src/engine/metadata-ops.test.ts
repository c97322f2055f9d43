import { test } from "node:test";
import assert from "node:assert/strict";
import { RuncastError } from "../errors.ts";
import { applyOperations, jsonEqual, keyProblem, parseMetadataUpdate, parseOperations, type MetadataOperation } from "./metadata-ops.ts";

test("set, delete and update", () => {
  const base = { a: 1, b: { c: 2 } };
  assert.deepEqual(applyOperations(base, [{ type: "set", key: "a", value: 5 }]), { a: 5, b: { c: 2 } });
  assert.deepEqual(applyOperations(base, [{ type: "set", key: "n", value: null }]), { a: 1, b: { c: 2 }, n: null });
  assert.deepEqual(applyOperations(base, [{ type: "delete", key: "a" }]), { b: { c: 2 } });
  assert.deepEqual(applyOperations(base, [{ type: "delete", key: "missing" }]), base);
  assert.deepEqual(applyOperations(base, [{ type: "update", value: { z: true } }]), { z: true });
  assert.deepEqual(base, { a: 1, b: { c: 2 } }, "the input is not modified");
});

test("append creates an array, wraps a scalar, pushes onto an array", () => {
  assert.deepEqual(applyOperations({}, [{ type: "append", key: "l", value: 1 }]), { l: [1] });
  assert.deepEqual(applyOperations({ l: "x" }, [{ type: "append", key: "l", value: "y" }]), { l: ["x", "y"] });
  assert.deepEqual(applyOperations({ l: null }, [{ type: "append", key: "l", value: 2 }]), { l: [null, 2] });
  const base = { l: [1, 2] };
  assert.deepEqual(applyOperations(base, [{ type: "append", key: "l", value: [3] }]), { l: [1, 2, [3]] });
  assert.deepEqual(base.l, [1, 2], "the input array is not modified");
});

test("remove filters by deep equality and leaves non-arrays alone", () => {
  const base = { l: [{ a: 1, b: [2] }, { b: [2], a: 1 }, { a: 2 }, "x", 1] };
  assert.deepEqual(applyOperations(base, [{ type: "remove", key: "l", value: { a: 1, b: [2] } }]), { l: [{ a: 2 }, "x", 1] });
  assert.deepEqual(applyOperations(base, [{ type: "remove", key: "l", value: "missing" }]), base);
  assert.deepEqual(applyOperations({ s: "x" }, [{ type: "remove", key: "s", value: "x" }]), { s: "x" });
  assert.deepEqual(applyOperations({}, [{ type: "remove", key: "none", value: 1 }]), {});
});

test("increment treats a missing or non-number value as 0; negative amounts decrement", () => {
  const ops: MetadataOperation[] = [
    { type: "increment", key: "n", value: 2 },
    { type: "increment", key: "n", value: -5 },
    { type: "increment", key: "s", value: 1 },
    { type: "increment", key: "f", value: 0.5 },
  ];
  assert.deepEqual(applyOperations({ s: "text", f: 1 }, ops), { n: -3, s: 1, f: 1.5 });
});

test("operations apply in order", () => {
  const ops: MetadataOperation[] = [
    { type: "set", key: "a", value: 1 },
    { type: "update", value: { b: 1 } },
    { type: "increment", key: "b", value: 1 },
    { type: "append", key: "a", value: 1 },
    { type: "delete", key: "b" },
  ];
  assert.deepEqual(applyOperations({ x: 1 }, ops), { a: [1] });
});

test("jsonEqual compares structure, ignoring key order", () => {
  assert.ok(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] }));
  assert.ok(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!jsonEqual([1, 2], [2, 1]));
  assert.ok(!jsonEqual([1], { 0: 1 }));
  assert.ok(!jsonEqual(null, {}));
  assert.ok(!jsonEqual("1", 1));
});

test("keys: $. keys are plain keys; __proto__, constructor, prototype are refused", () => {
  assert.equal(keyProblem("$.a.b"), undefined);
  assert.deepEqual(applyOperations({}, [{ type: "set", key: "$.a.b", value: 1 }]), { "$.a.b": 1 });
  for (const bad of ["__proto__", "constructor", "prototype", "$.a.__proto__", "$.constructor"]) {
    assert.match(keyProblem(bad) ?? "", /must not name/, bad);
  }
  assert.match(keyProblem("") ?? "", /non-empty/);
  assert.match(keyProblem(3) ?? "", /non-empty string/);
  assert.equal(Object.getPrototypeOf(applyOperations({}, [])), Object.prototype);
});

function rejects(fn: () => unknown, code: string, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RuncastError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.code, code);
    assert.equal(err.field, field);
    return true;
  });
}

test("parseMetadataUpdate validates every list and names the offending field", () => {
  const ok = parseMetadataUpdate({
    operations: [{ type: "set", key: "a", value: 1 }],
    rootOperations: [{ type: "increment", key: "n", value: 1 }],
    metadata: { m: 1 },
  });
  assert.deepEqual(ok, {
    operations: [{ type: "set", key: "a", value: 1 }],
    parentOperations: [],
    rootOperations: [{ type: "increment", key: "n", value: 1 }],
    metadata: { m: 1 },
  });
  assert.deepEqual(parseMetadataUpdate({ operations: [{ type: "set", key: "a", value: null }] }).operations, [{ type: "set", key: "a", value: null }]);

  rejects(() => parseMetadataUpdate({}), "invalid_body", "operations");
  rejects(() => parseMetadataUpdate({ operations: {} }), "invalid_operations", "operations");
  rejects(() => parseMetadataUpdate({ operations: [1] }), "invalid_operation", "operations[0]");
  rejects(() => parseMetadataUpdate({ operations: [{ key: "a" }] }), "invalid_operation", "operations[0].type");
  rejects(() => parseMetadataUpdate({ operations: [{ type: "merge", key: "a" }] }), "invalid_operation", "operations[0].type");
  rejects(() => parseMetadataUpdate({ parentOperations: [{ type: "set", value: 1 }] }), "invalid_metadata_key", "parentOperations[0].key");
  rejects(
    () => parseMetadataUpdate({ rootOperations: [{ type: "delete", key: "a" }, { type: "set", key: "__proto__", value: 1 }] }),
    "invalid_metadata_key",
    "rootOperations[1].key",
  );
  rejects(() => parseMetadataUpdate({ operations: [{ type: "set", key: "a" }] }), "invalid_operation", "operations[0].value");
  rejects(() => parseMetadataUpdate({ operations: [{ type: "increment", key: "a", value: "1" }] }), "invalid_operation", "operations[0].value");
  rejects(() => parseMetadataUpdate({ operations: [{ type: "update", value: [1] }] }), "invalid_operation", "operations[0].value");
  rejects(() => parseMetadataUpdate({ operations: [{ type: "update", value: JSON.parse('{"__proto__": 1}') }] }), "invalid_metadata_key", "operations[0].value");
  rejects(() => parseMetadataUpdate({ metadata: [1] }), "invalid_metadata", "metadata");
  rejects(() => parseMetadataUpdate({ metadata: JSON.parse('{"constructor": {}}') }), "invalid_metadata_key", "metadata");
  rejects(() => parseOperations(Array.from({ length: 1_001 }, () => ({ type: "delete", key: "a" })), "operations"), "invalid_operations", "operations");
});
