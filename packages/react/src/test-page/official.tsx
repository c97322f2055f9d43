// The official @trigger.dev/react-hooks 4.8.3 against Runcast (react.test.ts): useRealtimeRun, unchanged.
import { createRoot } from "react-dom/client";
import { useRealtimeRun } from "@trigger.dev/react-hooks";

const q = new URLSearchParams(location.search);

function OfficialRun({ id }: { id: string }) {
  const { run, error } = useRealtimeRun(id, { accessToken: q.get("token") ?? "", baseURL: q.get("base") ?? "" });
  return (
    <div data-testid="official" data-status={run?.status ?? ""} data-output={run?.output ? JSON.stringify(run.output) : ""}>
      {run ? `${run.taskIdentifier} ${run.status}` : "waiting"} {error ? `error: ${error.message}` : ""}
    </div>
  );
}

createRoot(document.getElementById("root") as HTMLElement).render(<OfficialRun id={q.get("run") ?? ""} />);
