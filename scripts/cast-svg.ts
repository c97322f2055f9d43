// A terminal screen from an asciinema recording, drawn as SVG (for the README's pictures of the CLI). It
// understands what the CLI writes: text, CR/LF, SGR colours (bold, dim, the 16 colours), cursor up/down/
// column, erase line; other sequences (synchronized output, cursor visibility) change nothing on screen.

interface Style {
  fg: number | undefined;
  bold: boolean;
  dim: boolean;
}

interface Cell {
  ch: string;
  style: Style;
}

const PLAIN: Style = { fg: undefined, bold: false, dim: false };

/** A screen with unbounded scrollback: every line ever written, the cursor somewhere in them. */
export class Screen {
  readonly lines: Cell[][] = [[]];
  #row = 0;
  #col = 0;
  #style: Style = PLAIN;
  readonly cols: number;

  constructor(cols: number) {
    this.cols = cols;
  }

  #line(row: number): Cell[] {
    while (this.lines.length <= row) this.lines.push([]);
    return this.lines[row] as Cell[];
  }

  write(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (ch === "\x1b") {
        const m = /^\x1b\[([?0-9;]*)([A-Za-z])/.exec(text.slice(i));
        if (m) {
          this.#csi(m[1] ?? "", m[2] ?? "");
          i += m[0].length - 1;
        }
        continue;
      }
      if (ch === "\r") this.#col = 0;
      else if (ch === "\n") this.#row++;
      else if (ch >= " ") {
        if (this.#col >= this.cols) {
          this.#col = 0;
          this.#row++;
        }
        const line = this.#line(this.#row);
        while (line.length < this.#col) line.push({ ch: " ", style: PLAIN });
        line[this.#col] = { ch, style: this.#style };
        this.#col++;
      }
    }
    this.#line(this.#row);
  }

  #csi(params: string, op: string): void {
    if (params.startsWith("?")) return;
    const n = (d: number) => (params === "" ? d : Number(params.split(";")[0]) || d);
    switch (op) {
      case "A":
        this.#row = Math.max(0, this.#row - n(1));
        break;
      case "B":
        this.#row += n(1);
        break;
      case "G":
        this.#col = n(1) - 1;
        break;
      case "K": {
        const line = this.#line(this.#row);
        if (n(0) === 2) line.length = 0;
        else if (n(0) === 0) line.length = Math.min(line.length, this.#col);
        break;
      }
      case "m":
        for (const p of (params || "0").split(";").map(Number)) {
          if (p === 0) this.#style = PLAIN;
          else if (p === 1) this.#style = { ...this.#style, bold: true };
          else if (p === 2) this.#style = { ...this.#style, dim: true };
          else if (p === 22) this.#style = { ...this.#style, bold: false, dim: false };
          else if (p === 39) this.#style = { ...this.#style, fg: undefined };
          else if ((p >= 30 && p <= 37) || (p >= 90 && p <= 97)) this.#style = { ...this.#style, fg: p };
        }
        break;
      default:
        break;
    }
  }

  /** The text on screen, trailing blank lines left out. */
  text(): string {
    return this.#used()
      .map((l) => l.map((c) => c.ch).join("").trimEnd())
      .join("\n");
  }

  #used(): Cell[][] {
    let end = this.lines.length;
    while (end > 0 && (this.lines[end - 1] ?? []).every((c) => c.ch === " ")) end--;
    return this.lines.slice(0, end);
  }

  /** The screen (or its last `rows` lines) as an SVG picture of a dark terminal window. */
  svg(opts: { rows?: number; title: string }): string {
    const used = this.#used();
    const lines = opts.rows ? used.slice(-opts.rows) : used;
    const charW = 8.4;
    const lineH = 18;
    const pad = 16;
    const top = 36;
    const width = Math.ceil(this.cols * charW + 2 * pad);
    const height = Math.ceil(top + lines.length * lineH + pad);
    const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const rows = lines.map((line, r) => {
      const spans: string[] = [];
      let i = 0;
      while (i < line.length) {
        const style = line[i]?.style ?? PLAIN;
        let j = i;
        let text = "";
        while (j < line.length && sameStyle(line[j]?.style ?? PLAIN, style)) text += line[j++]?.ch ?? " ";
        if (text.trim()) {
          const attrs = [`x="${(pad + i * charW).toFixed(1)}"`, `fill="${colour(style)}"`];
          if (style.bold) attrs.push(`font-weight="bold"`);
          spans.push(`<tspan ${attrs.join(" ")}>${esc(text)}</tspan>`);
        }
        i = j;
      }
      return `<text y="${top + (r + 1) * lineH - 5}" xml:space="preserve">${spans.join("")}</text>`;
    });
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(opts.title)}">`,
      `<rect width="100%" height="100%" rx="8" fill="#1d1f21"/>`,
      `<circle cx="20" cy="18" r="6" fill="#ff5f56"/><circle cx="40" cy="18" r="6" fill="#ffbd2e"/><circle cx="60" cy="18" r="6" fill="#27c93f"/>`,
      `<text x="${width / 2}" y="22" fill="#8a8f98" font-family="sans-serif" font-size="12" text-anchor="middle">${esc(opts.title)}</text>`,
      `<g font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="14">`,
      ...rows,
      `</g>`,
      `</svg>`,
      "",
    ].join("\n");
  }
}

const sameStyle = (a: Style, b: Style) => a.fg === b.fg && a.bold === b.bold && a.dim === b.dim;

/** The 16 colours of a common dark theme (Tomorrow Night); dim text is greyed. */
function colour(s: Style): string {
  const palette: Record<number, string> = {
    30: "#1d1f21", 31: "#cc6666", 32: "#b5bd68", 33: "#f0c674", 34: "#81a2be", 35: "#b294bb", 36: "#8abeb7", 37: "#c5c8c6",
    90: "#969896", 91: "#d54e53", 92: "#b9ca4a", 93: "#e7c547", 94: "#7aa6da", 95: "#c397d8", 96: "#70c0b1", 97: "#eaeaea",
  };
  if (s.fg !== undefined) return palette[s.fg] ?? "#c5c8c6";
  return s.dim ? "#7c7f83" : "#c5c8c6";
}
