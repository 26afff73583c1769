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
  const n = text.length;
  // A leading byte order mark (Excel writes one) is not part of the first column's name.
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  // UTF-16 text (Excel's "Unicode text") read as UTF-8 has a NUL beside every ASCII letter:
  // say so, instead of listing its column names with a NUL in every other character.
  if (text.slice(0, 4096).includes('\0'))
    throw new SyntaxError('the CSV holds NUL characters: it is not UTF-8 text (UTF-16? save it as UTF-8)');
  const endField = (): void => {
    record.push(field);
    field = '';
  };
  const endRecord = (): void => {
    endField();
    if (record.length > 1 || record[0] !== '') records.push(record);
    record = [];
  };
  // Fields are taken as slices between delimiters, never a character at a time: a field
  // built with `field += c` cost ~40 bytes of heap per character (a 50 MB cell took 2 GB,
  // and a 160 MB one ended the process out of memory after 100 s).
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE && field === '') {
      // Quoted: everything up to the closing quote, a doubled quote standing for one.
      for (i++; ;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new SyntaxError('CSV ends inside a quoted field');
        field += text.slice(i, q);
        i = q + 1;
        if (text.charCodeAt(i) !== QUOTE) break;
        field += '"';
        i++;
      }
    } else if (c === COMMA) {
      endField();
      i++;
    } else if (c === LF) {
      endRecord();
      i++;
    } else if (c === CR) {
      i++; // dropped outside quotes, as a CRLF line end's
    } else {
      // A run of plain characters; a quote inside a field that started otherwise is one of them.
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === COMMA || d === LF || d === CR) break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
    }
  }
  if (field !== '' || record.length > 0) endRecord();
  const [header = [], ...rows] = records;
  return { header, rows };
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * `text` as JSON for an error message, cut to `max` characters: a cell or column name is
 * whatever the file holds (an error used to print a 50 MB cell whole, on one stderr line).
 *
 * @example
 * ```ts
 * shownCell('x'.repeat(1e6)); // '"xxxx…" (1000000 characters)'
 * ```
 */
export function shownCell(text: string | undefined, max = 80): string {
  if (text === undefined) return 'nothing'; // a row shorter than the header
  return text.length <= max
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, max) + '…')} (${text.length} characters)`;
}

/** Column names for an error message: the first `max`, each cut, then how many more. */
export function shownColumns(header: readonly string[], max = 20): string {
  const shown = header.slice(0, max).map((h) => (h.length <= 80 ? h : `${h.slice(0, 80)}…`));
  return header.length > max ? `${shown.join(', ')}, … ${header.length - max} more` : shown.join(', ');
}
