// The shipped evaluation report (public/reports/index.json, written by scripts/build-web.ts).
import { $, element } from "./dom.ts";

interface Report {
  title: string;
  images: string[];
  markdown?: string;
}

export async function loadReport() {
  const target = $("report");
  try {
    const res = await fetch("/reports/index.json");
    const { reports } = (await res.json()) as { reports: Report[] };
    if (!res.ok || reports.length === 0) throw new Error("none");
    target.replaceChildren(
      ...reports.map((r) => {
        const div = element("div", "report");
        div.append(element("h3", undefined, r.title));
        for (const src of r.images) {
          const img = element("img");
          img.src = src;
          img.alt = `${r.title}: ${src.split("/").pop()}`;
          div.append(img);
        }
        if (r.markdown) {
          const a = element("a", undefined, "full report (Markdown)");
          a.href = r.markdown;
          div.append(a);
        }
        return div;
      }),
    );
  } catch {
    target.innerHTML = '<p class="hint">No evaluation report is shipped with this deployment.</p>';
  }
}
