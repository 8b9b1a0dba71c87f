import { SingleBar } from "cli-progress";

export interface Progress {
  /** `fields` (optional) are extra figures shown after the counts, e.g. { loss: "0.52", "val R@5": "30.1" }. */
  update(done: number, total: number, fields?: Record<string, string>): void;
  stop(): void;
}

/** A bar with rate and ETA on a terminal; otherwise a plain line at most every `intervalMs`. */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, intervalMs = 2000): Progress {
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}{fields}`,
      etaBuffer: 50,
    });
    const start = Date.now();
    let started = false;
    return {
      update(done, total, fields) {
        if (!started) {
          bar.start(total, 0, { rate: "0", fields: "" });
          started = true;
        }
        bar.setTotal(total);
        bar.update(done, { rate: (done / Math.max((Date.now() - start) / 1000, 1e-3)).toFixed(0), fields: formatFields(fields) });
      },
      stop: () => bar.stop(),
    };
  }
  const start = Date.now();
  let last = 0;
  let latestFields: Record<string, string> | undefined;
  const line = (done: number, total: number) => {
    const seconds = (Date.now() - start) / 1000;
    const rate = done / Math.max(seconds, 1e-3);
    const eta = rate > 0 ? (total - done) / rate : Number.NaN;
    stream.write(
      `${label}: ${done}/${total} (${((100 * done) / Math.max(total, 1)).toFixed(1)}%), ${rate.toFixed(0)}/s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : "?"}${formatFields(latestFields)}\n`,
    );
  };
  let latest: [number, number] = [0, 0];
  return {
    update(done, total, fields) {
      latest = [done, total];
      latestFields = fields;
      if (Date.now() - last >= intervalMs || done === total) {
        last = Date.now();
        line(done, total);
      }
    },
    stop() {
      if (Date.now() - last > 0 && latest[0] !== latest[1]) line(...latest);
    },
  };
}

function formatFields(fields: Record<string, string> | undefined): string {
  if (!fields) return "";
  return Object.entries(fields)
    .map(([k, v]) => ` | ${k} ${v}`)
    .join("");
}
