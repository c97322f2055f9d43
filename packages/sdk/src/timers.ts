/** Node fires a timer longer than 2^31 - 1 ms after 1 ms; longer delays are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/** setTimeout for any delay (days, weeks): runs `fn` once `ms` have passed, unless cleared. */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  const due = Date.now() + Math.max(0, ms);
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const left = due - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}
