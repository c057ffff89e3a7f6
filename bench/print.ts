// Prints results: an aligned table, or one JSON object per line with --json (notes then go to stderr).
export interface Row {
  case: string;
  ours_ms: number;
  peer: string;
  peer_ms: number;
  /** peer_ms / ours_ms: above 1 means we are faster. */
  ratio: number;
  gflops: number | null;
}

const COLUMNS = [
  { title: "case", width: 30 },
  { title: "ours ms", width: 10 },
  { title: "GFLOP/s", width: 8 },
  { title: "peer", width: 30 },
  { title: "peer ms", width: 10 },
  { title: "peer/ours", width: 9 },
];

function ms(x: number): string {
  return x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0);
}

function line(cells: string[]): string {
  return cells.map((c, i) => (i === 0 || i === 3 ? c.padEnd(COLUMNS[i].width) : c.padStart(COLUMNS[i].width))).join("  ").trimEnd();
}

export class Printer {
  private lastCase = "";
  private readonly json: boolean;

  constructor(json: boolean) {
    this.json = json;
  }

  header(lines: string[]): void {
    for (const l of lines) this.note(l);
    if (this.json) return;
    const titles = line(COLUMNS.map((c) => c.title));
    console.log(`\n${titles}\n${"-".repeat(titles.length)}`);
  }

  row(r: Row): void {
    if (this.json) {
      const round = (x: number | null) => (x === null ? null : Number(x.toPrecision(4)));
      console.log(JSON.stringify({ ...r, ours_ms: round(r.ours_ms), peer_ms: round(r.peer_ms), ratio: round(r.ratio), gflops: round(r.gflops) }));
      return;
    }
    const first = r.case !== this.lastCase;
    this.lastCase = r.case;
    const ours = first ? [r.case, ms(r.ours_ms), r.gflops === null ? "" : r.gflops.toFixed(1)] : ["", "", ""];
    console.log(line([...ours, r.peer, ms(r.peer_ms), `${r.ratio.toFixed(2)}x`]));
  }

  note(text: string): void {
    if (this.json) console.error(text);
    else console.log(text);
  }
}
