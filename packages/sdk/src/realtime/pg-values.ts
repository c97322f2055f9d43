/** Parses a PostgreSQL array literal (`{a,"b c",NULL}`, nested `{{1,2},{3,4}}`) into nested arrays. */
export function parsePgArray<T>(text: string, parseElement: (s: string) => T): unknown[] {
  let i = 0;
  const parseLevel = (): unknown[] => {
    if (text[i] !== "{") throw new Error(`invalid array literal: ${text}`);
    i++;
    const out: unknown[] = [];
    if (text[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === "{") out.push(parseLevel());
      else if (text[i] === '"') {
        let s = "";
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\") i++;
          s += text[i++];
        }
        i++;
        out.push(parseElement(s));
      } else {
        let j = i;
        while (j < text.length && text[j] !== "," && text[j] !== "}") j++;
        const raw = text.slice(i, j);
        i = j;
        out.push(raw === "NULL" ? null : parseElement(raw));
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        return out;
      }
      throw new Error(`invalid array literal: ${text}`);
    }
  };
  return parseLevel();
}

export interface ColumnType {
  type: string;
  dims?: number;
}

function parseScalar(type: string, v: string): unknown {
  switch (type) {
    case "int2":
    case "int4":
    case "float4":
    case "float8":
    case "oid":
      return Number(v);
    case "bool":
      return v === "t" || v === "true";
    case "json":
    case "jsonb":
      return JSON.parse(v);
    default:
      return v;
  }
}

/** Decodes one text value by its `electric-schema` entry (int8 and numeric stay strings: no precision loss). */
export function parseValue(col: ColumnType | undefined, v: string | null): unknown {
  if (v === null || col === undefined) return v;
  if (col.dims) return parsePgArray(v, (s) => parseScalar(col.type, s));
  return parseScalar(col.type, v);
}
