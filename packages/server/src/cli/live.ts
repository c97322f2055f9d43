import { createLogUpdate } from "log-update";
import { colorsFor, type Colors } from "./render.ts";

/**
 * Where a command writes: lines that stay, plus (in a terminal) a live part under them that is redrawn in
 * place. Piped, the live part is not drawn at all: views then print lines instead.
 */
export interface LiveOutput {
  readonly tty: boolean;
  readonly colors: Colors;
  /** Rows available to the live part. */
  rows(): number;
  /** Lines that stay (printed above the live part in a terminal). */
  print(text: string): void;
  /** Replaces the live part; an empty list removes it. Drawn at most every `REDRAW_MS`. */
  draw(lines: () => string[]): void;
  /** Draws the live part one last time and leaves it on screen. */
  done(): void;
}

/** Redraws coalesced into one per this many ms: a run writing progress every millisecond costs ~20 frames/s. */
const REDRAW_MS = 50;

export function liveOutput(stream: NodeJS.WriteStream = process.stdout, opts: { colors?: boolean } = {}): LiveOutput {
  const colors = opts.colors === false ? colorsFor({ isTTY: false }, {}) : colorsFor(stream);
  if (!stream.isTTY) {
    return {
      tty: false,
      colors,
      rows: () => 24,
      print: (text) => void stream.write(text.endsWith("\n") ? text : `${text}\n`),
      draw: () => {},
      done: () => {},
    };
  }
  // The cursor stays visible: `runcast dev` shares the terminal with whatever the tasks print.
  const update = createLogUpdate(stream, { showCursor: true });
  let frame: (() => string[]) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let shown = false;
  const paint = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const lines = frame?.() ?? [];
    if (lines.length) {
      update(lines.join("\n"));
      shown = true;
    } else if (shown) {
      update.clear();
      shown = false;
    }
  };
  return {
    tty: true,
    colors,
    rows: () => Math.max(5, (stream.rows || 24) - 2),
    print(text) {
      // The live part goes, the lines are written as they are (not cut to the width: a long command stays one
      // line to copy), and the live part is drawn again under them.
      if (shown) update.clear();
      shown = false;
      stream.write(text.endsWith("\n") ? text : `${text}\n`);
      paint();
    },
    draw(next) {
      frame = next;
      timer ??= setTimeout(paint, REDRAW_MS);
    },
    done() {
      paint();
      update.done();
      // What was drawn last stays on screen as printed lines: later prints go under it.
      frame = undefined;
      shown = false;
    },
  };
}
