// A self-contained SVG of a load run: per phase, throughput (requests/s) and p99 latency (ms)
// over time, on two y-axes. Hand-written to keep the load generator free of dependencies.

export interface SeriesPoint {
  t: number;
  rps: number;
  p99Ms: number;
}

const W = 720;
const H = 220;
const PAD = 48;

function polyline(points: SeriesPoint[], value: (p: SeriesPoint) => number, max: number, tMax: number, color: string): string {
  const xy = points.map((p) => {
    const x = PAD + ((W - 2 * PAD) * p.t) / Math.max(1, tMax);
    const y = H - PAD - ((H - 2 * PAD) * value(p)) / Math.max(1e-9, max);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${xy.join(' ')}"/>`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

export function renderChart(phases: Array<{ name: string; series: SeriesPoint[] }>): string {
  const panels = phases.map((ph, i) => {
    const tMax = ph.series.length > 0 ? ph.series[ph.series.length - 1]!.t : 1;
    const rpsMax = Math.max(1, ...ph.series.map((p) => p.rps));
    const p99Max = Math.max(0.001, ...ph.series.map((p) => p.p99Ms));
    return `<g transform="translate(0 ${i * H})">
  <text x="${PAD}" y="20" font-size="14" font-family="sans-serif">${esc(ph.name)}</text>
  <line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#999"/>
  <line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${H - PAD}" stroke="#999"/>
  <line x1="${W - PAD}" y1="${PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#999"/>
  <text x="4" y="${PAD}" font-size="10" font-family="sans-serif" fill="#1f77b4">${Math.round(rpsMax)}/s</text>
  <text x="${W - PAD + 4}" y="${PAD}" font-size="10" font-family="sans-serif" fill="#d62728">${p99Max.toFixed(2)}ms</text>
  <text x="${W - PAD}" y="${H - PAD + 14}" font-size="10" font-family="sans-serif" text-anchor="end">${tMax}s</text>
  <text x="${PAD + 4}" y="${H - 8}" font-size="10" font-family="sans-serif"><tspan fill="#1f77b4">throughput</tspan> <tspan fill="#d62728">p99 latency</tspan></text>
  ${polyline(ph.series, (p) => p.rps, rpsMax, tMax, '#1f77b4')}
  ${polyline(ph.series, (p) => p.p99Ms, p99Max, tMax, '#d62728')}
</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * Math.max(1, phases.length)}" viewBox="0 0 ${W} ${H * Math.max(1, phases.length)}">
<rect width="100%" height="100%" fill="white"/>
${panels.join('\n')}
</svg>
`;
}
