// Recent rows for "predict from here": a small CSV read in the browser into the column-wise
// {timestamp: [...], <target>: [...]} that POST /runs/{id}/predict takes.

/** The first column is the time, every other column a number (empty: missing). */
export function parseCsv(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length < 2) throw new Error("the file needs a header line and at least one row");
  const header = lines[0].split(",").map((h) => h.trim().replace(/^"|"$/g, ""));
  if (header.length < 2) throw new Error(`expected a time column and value columns, received: ${lines[0]}`);
  const data = { timestamp: [] };
  header.slice(1).forEach((h) => { data[h] = []; });
  lines.slice(1).forEach((line, i) => {
    const cells = line.split(",").map((c) => c.trim().replace(/^"|"$/g, ""));
    if (cells.length !== header.length) {
      throw new Error(`line ${i + 2}: expected ${header.length} values, received ${cells.length}`);
    }
    data.timestamp.push(cells[0]);
    header.slice(1).forEach((h, k) => {
      const cell = cells[k + 1];
      const value = cell === "" ? null : Number(cell);
      if (value !== null && Number.isNaN(value)) throw new Error(`line ${i + 2}: ${h} is not a number: ${cell}`);
      data[h].push(value);
    });
  });
  return data;
}
