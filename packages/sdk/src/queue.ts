/** A named queue that several tasks can share, optionally limiting how many of its runs execute at once. */
export interface QueueOptions {
  name: string;
  concurrencyLimit?: number;
}

export function queue(options: QueueOptions): QueueOptions {
  return options;
}
