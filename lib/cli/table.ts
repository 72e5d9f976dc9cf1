/** Plain-text tables for people: columns padded to their widest cell, two spaces apart, the last one left ragged. */

/**
 * Renders `rows` under `headers`, one line each, every line ending in a newline. Cells must already be safe for the
 * terminal (see terminal-text.ts); widths count UTF-16 code units, which is right for the text the tables hold.
 */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return renderRows([headers, ...rows]);
}

/** The same without a header line; the first row says how many columns there are. */
export function renderRows(rows: ReadonlyArray<readonly string[]>): string {
  const columns = rows[0]?.length ?? 0;
  const widths = Array.from({ length: columns }, (_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      widths
        .map((width, column) => (column === columns - 1 ? (row[column] ?? '') : (row[column] ?? '').padEnd(width)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}
