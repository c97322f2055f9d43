// The Runcast dashboard, served by the server at `/`: runs moving live, a run's details and timeline, workers and
// queues, a trigger form. Built with @runcast/react (the page's feeds use public tokens; management calls use the
// secret key typed at login, kept for this tab only).
import { StrictMode, memo, useCallback, useEffect, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { RUN_STATUSES, type RealtimeRun, type RunStatus } from "@runcast/sdk";
import { RuncastProvider, useRealtimeRun, useRealtimeRuns, useRealtimeRunsWithTag } from "@runcast/react";
import { ApiError, api, baseURL, feedToken, session, type QueueInfo, type RelatedRun, type RunEvent, type TaskInfo, type WorkerInfo } from "./api.ts";
import { FINAL, STATUS_LOOK, duration, time } from "./status.ts";
import "./styles.css";

/** `#/runs/run_123` → ["runs", "run_123"]. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function StatusBadge({ status }: { status: RunStatus }) {
  const look = STATUS_LOOK[status];
  return (
    <span className="badge" data-status={status} style={{ background: look.color }}>
      {look.label}
    </span>
  );
}

function Json({ value }: { value: unknown }) {
  if (value === undefined) return <p className="muted">none</p>;
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

function Login({ onLogin }: { onLogin: () => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api("/api/v1/auth/jwt/claims", { method: "POST", token: key.trim() });
      session.set(key.trim());
      onLogin();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "That key is not valid (or was revoked)." : String(err));
    }
  };
  return (
    <form className="login" onSubmit={submit}>
      <h1>Runcast</h1>
      <label>
        Secret key
        <input name="secretKey" type="password" value={key} onChange={(e) => setKey(e.target.value)} placeholder="tr_dev_…" autoFocus />
      </label>
      <button type="submit" disabled={!key.trim()}>
        Log in
      </button>
      {error && <p className="error">{error}</p>}
      <p className="muted">The key stays in this browser tab only. `runcast dev` prints the dev key.</p>
    </form>
  );
}

const RunRow = memo(function RunRow({ run, onCancel }: { run: RealtimeRun; onCancel: (id: string) => void }) {
  return (
    <tr data-run={run.id} data-status={run.status}>
      <td>
        <StatusBadge status={run.status} />
      </td>
      <td>
        <a href={`#/runs/${run.id}`}>{run.id}</a>
      </td>
      <td>{run.taskIdentifier}</td>
      <td>
        {run.tags.map((t) => (
          <span key={t} className="tag">
            {t}
          </span>
        ))}
      </td>
      <td>{run.durationMs ? duration(run.durationMs) : "–"}</td>
      <td>{time(run.startedAt)}</td>
      <td>{time(run.finishedAt)}</td>
      <td>{!FINAL.has(run.status) && <button onClick={() => onCancel(run.id)}>Cancel</button>}</td>
    </tr>
  );
});

function cancelRun(id: string) {
  void api(`/api/v2/runs/${encodeURIComponent(id)}/cancel`, { method: "POST" }).catch((err: unknown) => alert(String(err)));
}

function RunsTable({ runs, error }: { runs: RealtimeRun[]; error: Error | undefined }) {
  const newestFirst = useMemo(() => [...runs].reverse(), [runs]);
  return (
    <>
      {error && <p className="error">Live feed stopped: {error.message}</p>}
      <table className="runs" data-count={newestFirst.length}>
        <thead>
          <tr>
            <th>Status</th>
            <th>Run</th>
            <th>Task</th>
            <th>Tags</th>
            <th>Duration</th>
            <th>Started</th>
            <th>Finished</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {newestFirst.map((run) => (
            <RunRow key={run.id} run={run} onCancel={cancelRun} />
          ))}
        </tbody>
      </table>
      {newestFirst.length === 0 && <p className="muted">No runs in the last 7 days match.</p>}
    </>
  );
}

function EnvironmentRuns({ status, task }: { status: RunStatus[]; task: string[] }) {
  const { runs, error } = useRealtimeRuns({ createdAt: "7d", status, taskIdentifier: task, throttleInMs: 100, skipColumns: ["payload", "output"] });
  return <RunsTable runs={runs} error={error} />;
}

function TaggedRuns({ tag, status, task }: { tag: string; status: RunStatus[]; task: string[] }) {
  const { runs, error } = useRealtimeRunsWithTag([tag], { createdAt: "7d", throttleInMs: 100, skipColumns: ["payload", "output"] });
  const shown = runs.filter((r) => (!status.length || status.includes(r.status)) && (!task.length || task.includes(r.taskIdentifier)));
  return <RunsTable runs={shown} error={error} />;
}

function TriggerForm({ tasks }: { tasks: TaskInfo[] }) {
  const [task, setTask] = useState("");
  const [payload, setPayload] = useState("{}");
  const [error, setError] = useState<string>();
  const parsed = useMemo(() => {
    try {
      return { ok: true as const, value: JSON.parse(payload) as unknown };
    } catch (err) {
      return { ok: false as const, message: err instanceof Error ? err.message : String(err) };
    }
  }, [payload]);
  const chosen = task || tasks[0]?.id || "";
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!parsed.ok || !chosen) return;
    try {
      const { id } = await api<{ id: string }>(`/api/v1/tasks/${encodeURIComponent(chosen)}/trigger`, { body: { payload: parsed.value } });
      location.hash = `#/runs/${id}`;
    } catch (err) {
      setError(String(err instanceof Error ? err.message : err));
    }
  };
  return (
    <form className="trigger" onSubmit={submit}>
      <h2>Trigger a run</h2>
      <label>
        Task
        <select name="task" value={chosen} onChange={(e) => setTask(e.target.value)}>
          {tasks.map((t) => (
            <option key={t.id} value={t.id}>
              {t.id}
              {t.connected ? "" : " (no worker)"}
            </option>
          ))}
        </select>
      </label>
      <label>
        Payload (JSON)
        <textarea name="payload" rows={4} value={payload} onChange={(e) => setPayload(e.target.value)} spellCheck={false} />
      </label>
      {!parsed.ok && <p className="error">Not valid JSON: {parsed.message}</p>}
      <button type="submit" disabled={!parsed.ok || !chosen}>
        Trigger
      </button>
      {error && <p className="error">{error}</p>}
    </form>
  );
}

function useTasks(): TaskInfo[] {
  const [tasks, setTasks] = useState<TaskInfo[]>([]);
  useEffect(() => {
    let live = true;
    const load = () => api<{ data: TaskInfo[] }>("/api/v1/tasks").then((r) => live && setTasks(r.data), () => undefined);
    void load();
    const t = setInterval(load, 5_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);
  return tasks;
}

function RunsPage() {
  const tasks = useTasks();
  const [status, setStatus] = useState<RunStatus | "">("");
  const [task, setTask] = useState("");
  const [tag, setTag] = useState("");
  const statuses = status ? [status] : [];
  const taskIds = task ? [task] : [];
  return (
    <>
      <div className="filters">
        <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value as RunStatus | "")}>
          <option value="">All statuses</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LOOK[s].label}
            </option>
          ))}
        </select>
        <select aria-label="Task" value={task} onChange={(e) => setTask(e.target.value)}>
          <option value="">All tasks</option>
          {tasks.map((t) => (
            <option key={t.id} value={t.id}>
              {t.id}
            </option>
          ))}
        </select>
        <input aria-label="Tag" placeholder="tag" value={tag} onChange={(e) => setTag(e.target.value.trim())} />
      </div>
      <TriggerForm tasks={tasks} />
      {tag ? <TaggedRuns tag={tag} status={statuses} task={taskIds} /> : <EnvironmentRuns status={statuses} task={taskIds} />}
    </>
  );
}

function RunPage({ id }: { id: string }) {
  const { run, error } = useRealtimeRun(id);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [related, setRelated] = useState<{ parent?: RelatedRun; root?: RelatedRun; children?: RelatedRun[] }>({});
  // The timeline and relations are read again whenever the run changes status.
  useEffect(() => {
    let live = true;
    void api<{ events: RunEvent[] }>(`/api/v1/runs/${encodeURIComponent(id)}/events`).then((r) => live && setEvents(r.events), () => undefined);
    void api<{ relatedRuns: typeof related }>(`/api/v3/runs/${encodeURIComponent(id)}`).then((r) => live && setRelated(r.relatedRuns), () => undefined);
    return () => {
      live = false;
    };
  }, [id, run?.status]);
  if (error) return <p className="error">{error.message}</p>;
  if (!run) return <p className="muted">Loading {id}…</p>;
  const progress = run.metadata?.progress;
  return (
    <div className="run" data-run={run.id} data-status={run.status}>
      <h2>
        <StatusBadge status={run.status} /> {run.taskIdentifier} <code>{run.id}</code>
        {!FINAL.has(run.status) && <button onClick={() => cancelRun(run.id)}>Cancel</button>}
      </h2>
      {typeof progress === "number" && (
        <div className="progress" role="progressbar" aria-valuenow={Math.round(progress * 100)} aria-valuemin={0} aria-valuemax={100}>
          <div style={{ width: `${Math.min(100, Math.max(0, progress * 100))}%` }} />
          <span>{Math.round(progress * 100)}%</span>
        </div>
      )}
      <dl>
        <dt>Tags</dt>
        <dd>{run.tags.length ? run.tags.map((t) => <span key={t} className="tag">{t}</span>) : "–"}</dd>
        <dt>Duration</dt>
        <dd>{duration(run.durationMs)}</dd>
        <dt>Attempt</dt>
        <dd>{run.attemptNumber}</dd>
        {related.parent && (
          <>
            <dt>Parent</dt>
            <dd>
              <a href={`#/runs/${related.parent.id}`}>{related.parent.id}</a>
            </dd>
          </>
        )}
        {related.children?.length ? (
          <>
            <dt>Children</dt>
            <dd>
              {related.children.map((c) => (
                <a key={c.id} href={`#/runs/${c.id}`}>
                  {c.id}{" "}
                </a>
              ))}
            </dd>
          </>
        ) : null}
      </dl>
      <Section title="Payload">
        <Json value={run.payload} />
      </Section>
      <Section title="Output">
        <Json value={run.output} />
      </Section>
      {run.error && (
        <Section title="Error">
          <Json value={run.error} />
        </Section>
      )}
      <Section title="Metadata">
        <Json value={run.metadata} />
      </Section>
      <Section title="Timeline">
        <ol className="timeline">
          {events.map((e, i) => (
            <li key={i} data-status={e.status}>
              <StatusBadge status={e.status} /> {new Date(e.at).toLocaleTimeString()} {e.attemptNumber ? `attempt ${e.attemptNumber}` : ""} {e.reason ?? ""}
            </li>
          ))}
        </ol>
      </Section>
    </div>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section>
      <h3>{title}</h3>
      {children}
    </section>
  );
}

function WorkersPage() {
  const [workers, setWorkers] = useState<WorkerInfo[]>([]);
  const [queues, setQueues] = useState<QueueInfo[]>([]);
  useEffect(() => {
    let live = true;
    const load = () => {
      void api<{ data: WorkerInfo[] }>("/api/v1/workers").then((r) => live && setWorkers(r.data), () => undefined);
      void api<{ data: QueueInfo[] }>("/api/v1/queues").then((r) => live && setQueues(r.data), () => undefined);
    };
    load();
    const t = setInterval(load, 2_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);
  return (
    <>
      <h2>Workers</h2>
      <table className="workers">
        <thead>
          <tr>
            <th>Worker</th>
            <th>Tasks</th>
            <th>Free slots</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <tr key={w.id} data-worker={w.id}>
              <td>{w.name}</td>
              <td>{w.tasks.join(", ")}</td>
              <td>
                {w.freeSlots} / {w.concurrency}
              </td>
              <td>{new Date(w.lastSeenAt).toLocaleTimeString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {workers.length === 0 && <p className="muted">No worker is connected.</p>}
      <h2>Queues</h2>
      <table className="queues">
        <thead>
          <tr>
            <th>Queue</th>
            <th>Limit</th>
            <th>Queued</th>
            <th>Executing</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => (
            <tr key={q.name} data-queue={q.name}>
              <td>{q.name}</td>
              <td>{q.concurrencyLimit ?? "none"}</td>
              <td>{q.queued}</td>
              <td>{q.executing}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Mints the feeds' read token and renews it every 50 minutes. */
function useFeedToken(): { token: string | undefined; error: string | undefined } {
  const [state, setState] = useState<{ token?: string; error?: string }>({});
  useEffect(() => {
    let live = true;
    const mint = () =>
      feedToken().then(
        (token) => live && setState({ token }),
        (err: unknown) => live && setState({ error: String(err instanceof Error ? err.message : err) }),
      );
    void mint();
    const t = setInterval(mint, 50 * 60_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);
  return { token: state.token, error: state.error };
}

function Shell({ onLogout }: { onLogout: () => void }) {
  const route = useRoute();
  const { token, error } = useFeedToken();
  const page = route[0] === "runs" && route[1] ? <RunPage id={route[1]} /> : route[0] === "workers" ? <WorkersPage /> : <RunsPage />;
  return (
    <>
      <header>
        <a className="brand" href="#/">
          Runcast
        </a>
        <nav>
          <a href="#/">Runs</a>
          <a href="#/workers">Workers and queues</a>
        </nav>
        <button onClick={onLogout}>Log out</button>
      </header>
      <main>
        {error && <p className="error">{error}</p>}
        {token ? (
          <RuncastProvider baseURL={baseURL} accessToken={token}>
            {page}
          </RuncastProvider>
        ) : (
          !error && <p className="muted">Connecting…</p>
        )}
      </main>
    </>
  );
}

function App() {
  const [loggedIn, setLoggedIn] = useState(() => !!session.get());
  const logout = useCallback(() => {
    session.clear();
    setLoggedIn(false);
  }, []);
  return loggedIn ? <Shell onLogout={logout} /> : <Login onLogin={() => setLoggedIn(true)} />;
}

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
