// One record of Go's encoding/csv, as pflag's string-slice flags and docker's `--network name=x,alias=y` read values.

/**
 * Split `line` into fields the way Go's csv.Reader.Read does with its defaults: commas separate,
 * a field that starts with `"` is quoted (`""` inside is one quote), anything else is taken as
 * is. Errors carry Go's wording, so a flag error reads as docker's
 * (`parse error on line 1, column 2: bare " in non-quoted-field`). Only the first line counts.
 */
export function csvFields(line: string): string[] {
  const nl = line.search(/\r?\n/);
  if (nl >= 0) line = line.slice(0, nl);
  const fields: string[] = [];
  let i = 0;
  const err = (col: number, what: string) => new Error(`parse error on line 1, column ${col}: ${what}`);
  for (;;) {
    if (line[i] !== '"') {
      const end = line.indexOf(',', i);
      const field = end < 0 ? line.slice(i) : line.slice(i, end);
      const q = field.indexOf('"');
      if (q >= 0) throw err(byteCol(line, i + q), 'bare " in non-quoted-field');
      fields.push(field);
      if (end < 0) return fields;
      i = end + 1;
      continue;
    }
    let field = '';
    let j = i + 1;
    for (;;) {
      const q = line.indexOf('"', j);
      if (q < 0) throw err(byteCol(line, line.length), 'extraneous or missing " in quoted-field');
      field += line.slice(j, q);
      if (line[q + 1] === '"') {
        field += '"';
        j = q + 2;
        continue;
      }
      if (q + 1 === line.length) {
        fields.push(field);
        return fields;
      }
      if (line[q + 1] !== ',') throw err(byteCol(line, q), 'extraneous or missing " in quoted-field');
      fields.push(field);
      i = q + 2;
      break;
    }
  }
}

/** Go counts columns in bytes, from 1. */
function byteCol(line: string, index: number): number {
  return Buffer.byteLength(line.slice(0, index)) + 1;
}

/** pflag's StringSlice value: an empty value is no element, anything else a csv record. */
export function stringSlice(value: string): string[] {
  return value === '' ? [] : csvFields(value);
}
