// Small statistics and table helpers shared by the benchmark (run.ts) and the soak test (soak.ts).

/** p50 and p99 of one set of samples (ms). */
export interface Percentiles {
  p50: number;
  p99: number;
}

/**
 * The p-th percentile by nearest rank on the sorted samples (the value below which p % of the
 * samples fall, never interpolated); NaN when there are none.
 */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** p50 and p99 of unsorted samples. */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** How one figure varied over the rounds of a run. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** min / median / max of one figure measured once per round; NaNs (failed rounds) are left out. */
export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? Number.NaN)
      : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
  return { min: sorted[0] ?? Number.NaN, median, max: sorted[sorted.length - 1] ?? Number.NaN };
}

/** A number with as many decimals as its size deserves: 0.123, 1.23, 12.3, 1234. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return "—";
  const abs = Math.abs(x);
  return x.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

/** "median [min, max]", or just the median when there was one round. */
export function fmtSpread(s: Spread): string {
  if (Number.isNaN(s.median)) return "—";
  return s.min === s.max ? fmt(s.median) : `${fmt(s.median)} [${fmt(s.min)}, ${fmt(s.max)}]`;
}

/** Aligns rows of cells into columns: the first left-aligned, the others right-aligned. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(...rows.map((r) => r.length));
  const width = Array.from({ length: columns }, (_, i) =>
    Math.max(...rows.map((r) => (r[i] ?? "").length)),
  );
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === 0 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Least-squares slope of y over x (y units per x unit); NaN with fewer than two points. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}
