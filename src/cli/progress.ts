import { SingleBar } from "cli-progress";

export interface Progress {
  /** `fields` (optional) are extra figures shown after the counts, e.g. { loss: "0.52", "val R@5": "30.1" }. */
  update(done: number, total: number, fields?: Record<string, string>): void;
  stop(): void;
}

/**
 * A cli-progress bar with rate and ETA. On a terminal it redraws in place; otherwise (a log file, a pipe)
 * cli-progress writes the same figures as one line every `intervalMs` (its noTTYOutput mode, driven by a
 * timer: a caller in a long synchronous loop must yield to the event loop now and then) and once at the end.
 */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, intervalMs = 2000): Progress {
  const tty = stream.isTTY === true;
  const counts = "{percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}{fields}";
  const bar = new SingleBar({
    stream,
    format: tty ? `${label} [{bar}] ${counts}` : `${label}: ${counts}`,
    etaBuffer: 50,
    noTTYOutput: true,
    notTTYSchedule: intervalMs,
    // Off a terminal the final line is already written; clearing would only add an empty line.
    clearOnComplete: !tty,
  });
  const start = Date.now();
  let started = false;
  return {
    update(done, total, fields) {
      const seconds = (Date.now() - start) / 1000;
      const payload = {
        rate: seconds < 0.5 && done < total ? "-" : (done / Math.max(seconds, 1e-3)).toFixed(0),
        fields: formatFields(fields),
      };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, payload);
    },
    stop: () => bar.stop(),
  };
}

function formatFields(fields: Record<string, string> | undefined): string {
  if (!fields) return "";
  return Object.entries(fields)
    .map(([k, v]) => ` | ${k} ${v}`)
    .join("");
}
