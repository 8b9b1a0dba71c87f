// Live latency per endpoint and stage (GET /v1/metrics), refreshed by main.ts.
import { client, unwrap } from "./api.ts";
import { $, element } from "./dom.ts";

export async function loadMetrics() {
  try {
    const m = await unwrap(client.v1.metrics.$get({ query: { window: "15" } }));
    const table = element("table");
    table.innerHTML = "<thead><tr><th>endpoint</th><th>stage</th><th>n</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr></thead>";
    const body = element("tbody");
    for (const r of m.rows) {
      const tr = element("tr");
      for (const v of [r.endpoint, r.stage, String(r.count), r.p50.toFixed(1), r.p95.toFixed(1), r.p99.toFixed(1)])
        tr.append(element("td", undefined, v));
      body.append(tr);
    }
    table.append(body);
    $("metrics").replaceChildren(table);
  } catch (error) {
    $("metrics").textContent = `Metrics unavailable: ${(error as Error).message}`;
  }
}
