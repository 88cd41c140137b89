/** Backend messages built for codec tests (what a server would send), as protocol 3.0 defines them. */

function message(code: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code.charCodeAt(0);
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
};

/** Text-format RowDescription; every column reported as `text` (OID 25). */
export function rowDescription(columns: string[]): Buffer {
  const parts: Buffer[] = [int16(columns.length)];
  for (const name of columns)
    parts.push(cstr(name), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0));
  return message('T', Buffer.concat(parts));
}

/** Text-format DataRow; null is SQL NULL. */
export function dataRow(values: (string | null)[]): Buffer {
  const parts: Buffer[] = [int16(values.length)];
  for (const v of values) {
    if (v === null) parts.push(int32(-1));
    else {
      const b = Buffer.from(v, 'utf8');
      parts.push(int32(b.length), b);
    }
  }
  return message('D', Buffer.concat(parts));
}

export const commandComplete = (tag: string) => message('C', cstr(tag));
export const readyForQuery = (status: 'I' | 'T' | 'E') => message('Z', Buffer.from(status));
