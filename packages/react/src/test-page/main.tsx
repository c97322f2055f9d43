// A page for the browser tests of @runcast/react (react.test.ts): what it shows is read from data-* attributes.
import { StrictMode, useEffect, useState, version } from "react";
import { createRoot } from "react-dom/client";
import { RuncastProvider, openFeeds, useRealtimeBatch, useRealtimeRun, useRealtimeRunsWithTag, useRealtimeTaskTrigger } from "../index.ts";

interface PageProbe {
  completions: string[];
  openFeeds: () => number;
  unmount: () => void;
}
const probe: PageProbe = { completions: [], openFeeds, unmount: () => {} };
(window as unknown as { __runcast: PageProbe }).__runcast = probe;

const q = new URLSearchParams(location.search);

function RunView({ id, label }: { id: string; label: string }) {
  const { run, error } = useRealtimeRun(id, {
    onComplete: (r) => probe.completions.push(`${label}:${r.id}:${r.status}`),
  });
  const progress = run?.metadata?.progress;
  return (
    <div data-testid={`run-${label}`} data-status={run?.status ?? ""} data-progress={typeof progress === "number" ? String(progress) : ""}>
      {run ? `${run.taskIdentifier} ${run.status}` : "waiting"} {error ? `error: ${error.message}` : ""}
    </div>
  );
}

/** Re-renders every 30 ms with a new `[tag]` array each time: the subscription must stay the same one. */
function TagView({ tag }: { tag: string }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 30);
    return () => clearInterval(t);
  }, []);
  const { runs, error } = useRealtimeRunsWithTag([tag]);
  return (
    <ul data-testid="tag-runs" data-ticks={tick} data-error={error?.message ?? ""}>
      {runs.map((r) => (
        <li key={r.id} data-id={r.id} data-status={r.status}>
          {r.taskIdentifier} {r.status}
        </li>
      ))}
    </ul>
  );
}

function BatchView({ id }: { id: string }) {
  const { runs } = useRealtimeBatch(id);
  return (
    <ul data-testid="batch-runs">
      {runs.map((r) => (
        <li key={r.id} data-id={r.id} data-status={r.status}>
          {r.taskIdentifier} {r.status}
        </li>
      ))}
    </ul>
  );
}

/** Triggers with the page's trigger token, then watches the run with the handle's own read token. */
function TriggerView({ task }: { task: string }) {
  const { submit, run, handle, error, isLoading } = useRealtimeTaskTrigger(task);
  return (
    <div data-testid="trigger" data-run={handle?.id ?? ""} data-status={run?.status ?? ""} data-error={error?.message ?? ""}>
      <button disabled={isLoading} onClick={() => void submit({ steps: 2, stepMs: 50 })}>
        trigger
      </button>
      {run ? `${run.id} ${run.status}` : ""}
    </div>
  );
}

function App() {
  const run = q.get("run");
  const tag = q.get("tag");
  const batch = q.get("batch");
  const trigger = q.get("trigger");
  return (
    <RuncastProvider baseURL={q.get("base") ?? ""} accessToken={q.get("token") ?? ""}>
      {run && (
        <>
          <RunView id={run} label="a" />
          <RunView id={run} label="b" />
        </>
      )}
      {tag && <TagView tag={tag} />}
      {batch && <BatchView id={batch} />}
      {trigger && <TriggerView task={trigger} />}
    </RuncastProvider>
  );
}

document.body.dataset.react = version;
const root = createRoot(document.getElementById("root") as HTMLElement);
root.render(
  <StrictMode>
    <App />
  </StrictMode>,
);
probe.unmount = () => root.unmount();
