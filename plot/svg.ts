// Minimal SVG charts for the CLI's reports: line charts of one or more series over a shared x axis, with
// axes, ticks and a legend, and contour charts (paths over a function's isolines). Deterministic text
// output, no dependencies.
export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Per point, a ± half-width drawn as an error bar (e.g. the std over seeds). */
  spread?: number[];
  /** Drawn dashed: to pair series (say, a method's mean and projected estimates). */
  dashed?: boolean;
  /** Drawn dotted: a third style beside solid and dashed. */
  dotted?: boolean;
  /** Index into the palette; by default the series' own index. Paired series share one. */
  color?: number;
}

export interface ChartOptions {
  /** The x axis on a log scale, ticked at the data's x values (widths 128, 256, …). */
  logX?: boolean;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function ticks(lo: number, hi: number, count = 5): number[] {
  if (hi === lo) return [lo];
  const raw = (hi - lo) / count;
  const step = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / nice) * nice; t <= hi + 1e-12; t += nice) out.push(+t.toPrecision(12));
  return out;
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An SVG document plotting `series`; y range defaults to the data's, padded. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], yRange?: [number, number], options: ChartOptions = {}): string {
  // The legend's column fits its longest name (about 7 px a character at 12 px).
  const legend = Math.max(0, ...series.map((s) => s.name.length));
  const left = 64, right = Math.max(160, 48 + 7 * legend), width = 440 + right, height = 400, top = 36, bottom = 48;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.flatMap((p, i) => [p[1] - (s.spread?.[i] ?? 0), p[1] + (s.spread?.[i] ?? 0)])).filter(Number.isFinite);
  const logX = options.logX === true && xs.every((x) => x > 0);
  const axis = (x: number) => (logX ? Math.log2(x) : x);
  const [x0, x1] = [Math.min(...xs.map(axis)), Math.max(...xs.map(axis))];
  const [y0, y1] = yRange ?? [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => left + ((axis(x) - x0) / (x1 - x0 || 1)) * (width - left - right);
  const sy = (y: number) => height - bottom - ((y - y0) / (y1 - y0 || 1)) * (height - top - bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="black"/>`,
    `<text x="${(left + width - right) / 2}" y="${height - 10}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(16 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  const xTicks = logX ? [...new Set(xs)].sort((a, b) => a - b) : ticks(x0, x1);
  for (const t of xTicks) parts.push(`<text x="${sx(t)}" y="${height - bottom + 16}" text-anchor="middle">${t}</text>`);
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${left}" y1="${sy(t)}" x2="${width - right}" y2="${sy(t)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length];
    const path = s.points.filter((p) => Number.isFinite(p[1])).map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : s.dotted ? ` stroke-dasharray="2 3"` : "";
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (s.points.length < 12) for (const p of s.points) parts.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${color}"/>`);
    s.points.forEach((p, j) => {
      const half = s.spread?.[j];
      if (!half || !Number.isFinite(p[1])) return;
      const x = sx(p[0]).toFixed(1);
      parts.push(`<line x1="${x}" y1="${sy(p[1] - half).toFixed(1)}" x2="${x}" y2="${sy(p[1] + half).toFixed(1)}" stroke="${color}"/>`);
    });
    parts.push(`<line x1="${width - right + 12}" y1="${top + 18 * i + 6}" x2="${width - right + 32}" y2="${top + 18 * i + 6}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${width - right + 38}" y="${top + 18 * i + 10}">${escape(s.name)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** The function a contour chart draws: f on the window [x0, x1] × [y0, y1], at the given levels. */
export interface ContourField {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  f: (x: number, y: number) => number;
  /** Increasing levels, one grey isoline each. */
  levels: number[];
  /** Grid cells per axis (default 120). */
  cells?: number;
}

/**
 * Paths (say, optimisation trajectories) over the isolines of a two-variable function, drawn by
 * marching squares on a `cells`² grid (a saddle cell takes its two crossings in edge order). Points
 * outside the window are clipped by the plot area; `marker` puts a cross at one point (a minimum).
 */
export function contourChart(title: string, field: ContourField, series: Series[], options: { marker?: [number, number] } = {}): string {
  const legend = Math.max(0, ...series.map((s) => s.name.length));
  const left = 64, right = Math.max(160, 48 + 7 * legend), plot = 440, width = left + plot + right, height = 36 + plot + 48, top = 36;
  const { x0, x1, y0, y1 } = field, n = field.cells ?? 120;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * plot;
  const sy = (y: number) => top + plot - ((y - y0) / (y1 - y0)) * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<defs><clipPath id="area"><rect x="${left}" y="${top}" width="${plot}" height="${plot}"/></clipPath></defs>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${plot}" height="${plot}" fill="none" stroke="black"/>`,
  ];
  for (const t of ticks(x0, x1)) parts.push(`<text x="${sx(t).toFixed(1)}" y="${top + plot + 16}" text-anchor="middle">${t}</text>`);
  for (const t of ticks(y0, y1)) parts.push(`<text x="${left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  parts.push(`<text x="${left + plot / 2}" y="${height - 10}" text-anchor="middle">x</text>`, `<text x="16" y="${top + plot / 2}" text-anchor="middle">y</text>`);
  // Grid values, then per level the segments where the isoline crosses each cell's edges.
  const gx = (i: number) => x0 + ((x1 - x0) * i) / n, gy = (j: number) => y0 + ((y1 - y0) * j) / n;
  const v = new Float64Array((n + 1) * (n + 1));
  for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) v[j * (n + 1) + i] = field.f(gx(i), gy(j));
  field.levels.forEach((level, k) => {
    const segments: string[] = [];
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const a = v[j * (n + 1) + i], b = v[j * (n + 1) + i + 1], c = v[(j + 1) * (n + 1) + i + 1], d = v[(j + 1) * (n + 1) + i];
        // Crossings on the edges bottom (a→b), right (b→c), top (d→c), left (a→d).
        const cross: Array<[number, number]> = [];
        const edge = (p: number, q: number, from: [number, number], to: [number, number]) => {
          if ((p < level) === (q < level)) return;
          const t = (level - p) / (q - p);
          cross.push([from[0] + t * (to[0] - from[0]), from[1] + t * (to[1] - from[1])]);
        };
        edge(a, b, [gx(i), gy(j)], [gx(i + 1), gy(j)]);
        edge(b, c, [gx(i + 1), gy(j)], [gx(i + 1), gy(j + 1)]);
        edge(d, c, [gx(i), gy(j + 1)], [gx(i + 1), gy(j + 1)]);
        edge(a, d, [gx(i), gy(j)], [gx(i), gy(j + 1)]);
        for (let m = 0; m + 1 < cross.length; m += 2) segments.push(`M${sx(cross[m][0]).toFixed(1)},${sy(cross[m][1]).toFixed(1)}L${sx(cross[m + 1][0]).toFixed(1)},${sy(cross[m + 1][1]).toFixed(1)}`);
      }
    }
    const grey = Math.round(140 + (90 * k) / Math.max(1, field.levels.length - 1));
    if (segments.length) parts.push(`<path d="${segments.join("")}" fill="none" stroke="rgb(${grey},${grey},${grey})" stroke-width="1" clip-path="url(#area)"/>`);
  });
  series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length];
    const path = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])).map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : s.dotted ? ` stroke-dasharray="2 3"` : "";
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"${dash} clip-path="url(#area)"/>`);
    parts.push(`<line x1="${width - right + 12}" y1="${top + 18 * i + 6}" x2="${width - right + 32}" y2="${top + 18 * i + 6}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${width - right + 38}" y="${top + 18 * i + 10}">${escape(s.name)}</text>`);
  });
  if (options.marker) {
    const [mx, my] = [sx(options.marker[0]), sy(options.marker[1])];
    parts.push(`<path d="M${mx - 5},${my - 5}L${mx + 5},${my + 5}M${mx - 5},${my + 5}L${mx + 5},${my - 5}" stroke="black" stroke-width="2"/>`);
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
