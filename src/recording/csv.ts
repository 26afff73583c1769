/**
 * A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF) for importers of
 * recorded sensor data. A leading UTF-8 byte order mark is skipped. Returns the header and rows as string arrays; typing the cells
 * is the importer's job, because only it knows the column mapping.
 *
 * @example
 * ```ts
 * const { header, rows } = parseCsv('"a","b"\n1,2\n');
 * // header: ['a', 'b'], rows: [['1', '2']]
 * ```
 */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  // A leading byte order mark (Excel writes one) is not part of the first column's name.
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endField = (): void => {
    record.push(field);
    field = '';
  };
  const endRecord = (): void => {
    endField();
    if (record.length > 1 || record[0] !== '') records.push(record);
    record = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') endRecord();
    else if (c !== '\r') field += c;
    i++;
  }
  if (quoted) throw new SyntaxError('CSV ends inside a quoted field');
  if (field !== '' || record.length > 0) endRecord();
  const [header = [], ...rows] = records;
  return { header, rows };
}
