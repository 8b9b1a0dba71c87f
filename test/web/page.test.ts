import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, startNodeServer, tempDir } from "../helpers.ts";

// The web page in headless Chromium (Debian's package, driven by playwright-core; never `playwright install`).
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`[test/web] skipped: no Chromium at ${CHROMIUM} (.ci/run installs Debian's 'chromium')`);
export const SCREENSHOTS = join(REPO, "test-output");

describe.skipIf(!haveChromium)("web page (npm start) in headless Chromium", () => {
  let server: Awaited<ReturnType<typeof startNodeServer>>;
  let base: string;
  let cleanup: () => Promise<void>;
  let browser: import("playwright-core").Browser;

  /** Records every status line the page shows into window.statuses, in order (a poll could miss a short one). */
  async function recordStatuses(page: import("playwright-core").Page): Promise<void> {
    await page.evaluate(() => {
      const status = document.getElementById("status") as HTMLElement;
      const seen: string[] = [];
      (window as unknown as { statuses: string[] }).statuses = seen;
      new MutationObserver(() => seen.push(status.textContent ?? "")).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
  }

  /** The page with copy-last as the only model, `passage` split into the chain, in-browser mode and "Say it" on. */
  async function copyLastInBrowserSayingIt(page: import("playwright-core").Page, passage: string): Promise<void> {
    await page.goto(base);
    await page.waitForSelector("body[data-ready=true]");
    await page.$$eval("#models input", (inputs) => {
      for (const i of inputs as HTMLInputElement[]) i.checked = i.value === "copy-last";
    });
    await page.fill("#passage", passage);
    await page.click("#split");
    await page.check("input[name=mode][value=browser]");
    await page.check("#decode");
  }

  beforeAll(async () => {
    const dir = await tempDir();
    cleanup = dir[Symbol.asyncDispose];
    // Node on the edge weights the page's in-browser encoder runs, so both modes embed a pasted text alike.
    server = await startNodeServer({ LVM_METRICS_DB: join(dir.path, "m.sqlite"), LVM_USE_LITE: "int8-edge" });
    base = server.base;
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // WebGPU through SwiftShader where this Chromium offers it; the page falls back to the WASM core otherwise.
      args: [
        "--no-sandbox",
        "--headless=new",
        "--enable-unsafe-webgpu",
        "--use-webgpu-adapter=swiftshader",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    await mkdir(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    server?.stop();
    await cleanup?.();
  });

  it("predicts on the server and in the browser, extends the chain by a click, and shows which backend ran", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(base);
    await page.waitForSelector("body[data-ready=true]");
    const modelNames = await page.$$eval("#models input", (inputs) => inputs.map((i) => (i as HTMLInputElement).value));
    expect(modelNames).toEqual(expect.arrayContaining(["copy-last", "mean-context"]));

    await page.selectOption("#article", "0");
    await page.waitForFunction(() => document.querySelectorAll("#chain li").length === 6);
    expect(await page.$$eval("#chain li.context", (li) => li.length)).toBe(5);

    await page.click("#predict");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Ran on the server"));
    const rowsByModel = (): Promise<Record<string, number[]>> =>
      page.$$eval(".card", (cards) =>
        Object.fromEntries(
          cards.map((c) => [
            (c as HTMLElement).dataset.model,
            [...c.querySelectorAll("li button")].map((b) => Number((b as HTMLElement).dataset.row)),
          ]),
        ),
      );
    const serverRows = await rowsByModel();
    const serverTop = serverRows["copy-last"];
    expect(serverTop).toHaveLength(5);
    // No result is a context concept: the article's rows are sent as {row} and excluded by row.
    const contextRows = await page.$$eval("#chain li.context", (li) => li.map((x) => Number((x as HTMLElement).dataset.row)));
    expect(contextRows).toHaveLength(5);
    for (const rows of Object.values(serverRows)) expect(rows.filter((r) => contextRows.includes(r))).toEqual([]);
    expect(Object.keys(serverRows).length).toBeGreaterThanOrEqual(2);

    await page.check("input[name=mode][value=browser]");
    await page.click("#predict");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Ran in this browser"), null, {
      timeout: 60_000,
    });
    const status = (await page.textContent("#status")) ?? "";
    const webgpu = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return Boolean(gpu && (await gpu.requestAdapter().catch(() => null)));
    });
    // A trained model runs on WebGPU where the browser has an adapter, else on our WASM core; baselines run in JS.
    const trained = modelNames.find((n) => n !== "copy-last" && n !== "mean-context");
    if (trained) expect(status).toMatch(webgpu ? /on webgpu/ : /on wasm-core-int8/);
    // The same prediction service in the browser (WASM core over the INT8 store) returns the same rows as the
    // server, for every model compared, context concepts excluded alike.
    const browserRows = await rowsByModel();
    expect(Object.keys(browserRows).sort()).toEqual(Object.keys(serverRows).sort());
    expect(browserRows).toEqual(serverRows);

    await page.click(".card[data-model=copy-last] li:first-child button");
    await page.waitForFunction(() => document.querySelectorAll("#chain li").length === 7);
    expect(await page.textContent("#chain li:last-child")).toContain(
      (await page.textContent(`.card[data-model=copy-last] li:first-child button`))?.slice(0, 40) ?? "",
    );
    await page.waitForSelector("#metrics table");
    await page.screenshot({ path: join(SCREENSHOTS, "page.png"), fullPage: true });
    expect(errors).toEqual([]);
  });

  it("generates the same chain on the server and in the browser (Generate 5), never repeating a row", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(base);
    await page.waitForSelector("body[data-ready=true]");
    // copy-last alone: it predicts the window's last concept, so a context or used row not excluded comes back at once.
    await page.$$eval("#models input", (inputs) => {
      for (const i of inputs as HTMLInputElement[]) i.checked = i.value === "copy-last";
    });
    const chainAfterGenerate = async (mode: "server" | "browser") => {
      await page.selectOption("#article", "");
      await page.selectOption("#article", "1");
      await page.waitForFunction(() => document.querySelectorAll("#chain li").length === 6);
      await page.check(`input[name=mode][value=${mode}]`);
      await page.click("#generate");
      await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Generated"), null, { timeout: 60_000 });
      return page.$$eval("#chain li", (li) => li.map((x) => Number((x as HTMLElement).dataset.row)));
    };
    const server = await chainAfterGenerate("server");
    expect(server.length).toBeGreaterThan(6);
    expect(new Set(server).size).toBe(server.length); // never a context row, never a row twice
    expect(await chainAfterGenerate("browser")).toEqual(server);
    expect(errors).toEqual([]);
  });

  it("embeds pasted text in the browser (no /v1/embed) and returns the server's rows for it", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const embedCalls: string[] = [];
    const weights: number[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/v1/embed") embedCalls.push(r.url());
    });
    page.on("response", (r) => {
      if (r.url().endsWith("/use-lite-int8-edge.bin")) weights.push(r.status());
    });
    await page.goto(base);
    await page.waitForSelector("body[data-ready=true]");
    // Texts no stored concept has: each must be embedded (a stored text would be answered by its row). One has a
    // control character, which both modes read as a space (normalizeText).
    await page.fill(
      "#passage",
      [
        "Glaciers carve deep valleys as they slowly move downhill over thousands of years.",
        "Meltwater from the ice feeds rivers that carry fine sediment towards the lowlands.",
        "Farmers in the valley grow barley\u0007and keep sheep on the steep upper pastures.",
        "In winter the passes close and the villages depend on stored grain and cheese.",
        "A railway tunnel opened in the last century and brought tourists every summer.",
      ].join("\n\n"),
    );
    await page.click("#split");
    await page.waitForFunction(() => document.querySelectorAll("#chain li").length === 5);
    expect(await page.$$eval("#chain li[data-row]", (li) => li.length)).toBe(0);

    await recordStatuses(page);
    // Rows and their shown scores (3 decimals): the same encoder on the same core gives the same vectors.
    // Same rows in the same order; scores within 0.002. The two modes embed and predict with the same INT8 weights,
    // yet a shown score can differ in its 3rd decimal (seen: 0.532 on the server, 0.531 in the browser). The cause
    // is not known: pinning the server's engine (LVM_BACKEND=core) or core build (LVM_CORE=simd) left it.
    const expectSameResults = (got: Record<string, string[]>, want: Record<string, string[]>) => {
      const parse = (r: Record<string, string[]>) =>
        Object.fromEntries(
          Object.entries(r).map(([m, list]) => [m, list.map((line) => /^(\d+)\s+(-?[\d.]+) /.exec(line)?.slice(1) ?? [line, "NaN"])]),
        );
      const [g, w] = [parse(got), parse(want)];
      expect(Object.keys(g).sort()).toEqual(Object.keys(w).sort());
      for (const m of Object.keys(w)) {
        expect(g[m].map(([row]) => row)).toEqual(w[m].map(([row]) => row));
        for (const [i, [, score]] of g[m].entries()) expect(Math.abs(Number(score) - Number(w[m][i][1]))).toBeLessThanOrEqual(0.002);
      }
    };
    const resultsByModel = (): Promise<Record<string, string[]>> =>
      page.$$eval(".card", (cards) =>
        Object.fromEntries(
          cards.map((c) => [
            (c as HTMLElement).dataset.model,
            [...c.querySelectorAll("li button")].map((b) => `${(b as HTMLElement).dataset.row} ${b.querySelector(".score")?.textContent}`),
          ]),
        ),
      );
    const predictIn = async (mode: "server" | "browser") => {
      await page.check(`input[name=mode][value=${mode}]`);
      await page.evaluate(() => {
        (document.getElementById("status") as HTMLElement).textContent = "";
      });
      await page.click("#predict");
      await page.waitForFunction(() => /^(Ran|Failed)/.test(document.querySelector("#status")?.textContent ?? ""), null, {
        timeout: 60_000,
      });
      expect(await page.textContent("#status")).toMatch(mode === "browser" ? /^Ran in this browser/ : /^Ran on the server/);
      return resultsByModel();
    };

    // Browser mode first, so no vector the server made is at hand.
    const browserResults = await predictIn("browser");
    expect(embedCalls).toEqual([]);
    expect(weights).toEqual([200]);
    const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
    expect(statuses.some((t) => t.includes("sentence encoder"))).toBe(true); // the page said it was loading it

    const serverResults = await predictIn("server");
    expect(embedCalls).toHaveLength(1); // server mode embeds the texts itself: two encoders' vectors are compared
    expect(Object.keys(serverResults).length).toBeGreaterThanOrEqual(2);
    for (const results of Object.values(serverResults)) expect(results).toHaveLength(5);
    expectSameResults(browserResults, serverResults);

    // Again in the browser: the encoder is downloaded once, and still nothing goes to /v1/embed.
    expectSameResults(await predictIn("browser"), serverResults);
    expect(weights).toEqual([200]);
    expect(embedCalls).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("says it in the browser as on the server: downloads the decoder on the first such prediction, same text", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const decoderFiles: string[] = [];
    page.on("response", (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith("/decoder/")) decoderFiles.push(`${path} ${r.status()}`);
    });
    // Both modes must decode the same vector. A trained model would not give one: the server runs it on
    // onnxruntime-node, this browser on WebGPU (SwiftShader), and their small differences change the decoder's text
    // (seen: two different sentences). copy-last predicts the last typed text's vector, which both modes embed with
    // the same edge weights on the same core code (the server runs LVM_USE_LITE=int8-edge here).
    await copyLastInBrowserSayingIt(
      page,
      "The harbour was rebuilt after the storm.\n\nFishing boats returned to the village within a year.",
    );
    await page.waitForFunction(() => document.querySelectorAll("#chain li").length === 2);
    await recordStatuses(page);
    expect(decoderFiles).toEqual([]); // nothing is downloaded before a prediction asks for text
    const generatedIn = async (mode: "server" | "browser") => {
      await page.check(`input[name=mode][value=${mode}]`);
      await page.click("#predict");
      await page.waitForFunction(
        (m) => new RegExp(`^(Ran ${m}|Failed)`).test(document.querySelector("#status")?.textContent ?? ""),
        mode === "browser" ? "in this browser" : "on the server",
        { timeout: 60_000 },
      );
      expect(await page.textContent("#status")).toMatch(/^Ran/);
      // One card, one line: "generated<text> cosine 0.xyz to the prediction · n refinement step(s)".
      const lines = await page.$$eval(".card p.generated", (ps) => ps.map((p) => p.textContent ?? ""));
      expect(lines).toHaveLength(1);
      const [, text, cosine, steps] =
        /^generated(.+) cosine (-?\d\.\d{3}) to the prediction · (\d+) refinement steps?$/.exec(lines[0]) ?? [];
      return { text, cosine: Number(cosine), steps };
    };
    const inBrowser = await generatedIn("browser");
    expect(decoderFiles.sort()).toEqual(["/decoder/model.json 200", "/decoder/weights.bin 200"]);
    const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
    expect(statuses.some((t) => t.startsWith("Downloading the decoder"))).toBe(true);
    expect(inBrowser.text).toMatch(/\w{3}/);
    expect(inBrowser.cosine).toBeGreaterThan(0.5); // the shipped decoder on a plain sentence's vector

    // The server decodes the same vector with the same INT8 decoder, core code, default refinement options and
    // re-embedding weights (its decoder re-embeds with the store's encoder variant, LVM_USE_LITE=int8-edge here, as
    // this page does): the same text, steps and cosine.
    const onServer = await generatedIn("server");
    expect(onServer.text).toBe(inBrowser.text);
    expect(onServer.steps).toBe(inBrowser.steps);
    expect(onServer.cosine).toBe(inBrowser.cosine);
    expect(decoderFiles).toHaveLength(2); // downloaded once
    expect(errors).toEqual([]);
  });

  it("says so where the deployment has no decoder, and still predicts in the browser", async () => {
    const page = await browser.newPage();
    await page.route("**/decoder/*", (route) => route.fulfill({ status: 404, body: "Not Found" }));
    await copyLastInBrowserSayingIt(page, "A lighthouse keeper logs the passing ships every night.");
    await page.click("#predict");
    await page.waitForFunction(() => /^(Ran|Failed)/.test(document.querySelector("#status")?.textContent ?? ""), null, { timeout: 60_000 });
    expect(await page.textContent("#status")).toMatch(/^Ran in this browser/);
    expect(await page.$$eval(".card li", (li) => li.length)).toBeGreaterThan(0);
    expect(await page.$$eval(".card p.generated", (p) => p.length)).toBe(0);
    expect(await page.textContent("#decode-note")).toBe("This deployment has no decoder (/decoder/model.json is not there).");
    expect(await page.isDisabled("#decode")).toBe(true);
  });

  it("says when the in-browser encoder cannot be loaded, and loads it on the next try", async () => {
    const page = await browser.newPage();
    await page.route("**/use-lite-int8-edge.bin", (route) => route.fulfill({ status: 404, body: "missing" }));
    await page.goto(base);
    await page.waitForSelector("body[data-ready=true]");
    await page.fill("#passage", "A lighthouse keeper logs the passing ships every night.");
    await page.click("#split");
    await page.check("input[name=mode][value=browser]");
    const predict = async () => {
      await page.evaluate(() => {
        (document.getElementById("status") as HTMLElement).textContent = "";
      });
      await page.click("#predict");
      await page.waitForFunction(() => /^(Ran|Failed)/.test(document.querySelector("#status")?.textContent ?? ""), null, {
        timeout: 60_000,
      });
      return (await page.textContent("#status")) ?? "";
    };
    expect(await predict()).toBe("Failed: the sentence encoder's weights (/use-lite-int8-edge.bin): HTTP 404");
    await page.unroute("**/use-lite-int8-edge.bin");
    expect(await predict()).toMatch(/^Ran in this browser/);
  });

  it("is usable at phone width with the keyboard alone", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(base);
    await page.waitForSelector("body[data-ready=true]");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.focus("#passage");
    await page.keyboard.type(
      "The river rises in the mountains.\n\nIt flows east through the plains.\n\nIt reaches the sea at a wide delta.",
    );
    await page.keyboard.press("Tab"); // unit
    await page.keyboard.press("Tab"); // split button
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#chain li").length === 3);
    const nextBodies: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/v1/next")) nextBodies.push(r.postData() ?? "");
    });
    await page.focus("#predict");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Ran on the server"), null, {
      timeout: 60_000,
    });
    // The typed texts are embedded once and sent as base64 float32 (512 x 4 bytes = 2,732 characters), not as text.
    expect(nextBodies.length).toBeGreaterThan(0);
    for (const body of nextBodies) {
      const { context } = JSON.parse(body) as { context: { b64: string }[] };
      expect(context).toHaveLength(3);
      for (const item of context) expect(item.b64).toHaveLength(2732);
    }
    await page.screenshot({ path: join(SCREENSHOTS, "page-phone.png"), fullPage: false });
  });
});

describe.skipIf(!haveChromium)("web page under `wrangler dev` (the Worker) in headless Chromium", () => {
  let worker: import("node:child_process").ChildProcess;
  let base: string;
  let browser: import("playwright-core").Browser;

  beforeAll(async () => {
    const { spawn } = await import("node:child_process");
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    base = `http://127.0.0.1:${port}`;
    worker = spawn(
      process.execPath,
      [join(REPO, "node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(port)],
      {
        cwd: REPO,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const onData = (d: Buffer) => {
        out += d;
        if (out.includes("Ready on")) resolve();
      };
      worker.stdout?.on("data", onData);
      worker.stderr?.on("data", onData);
      worker.once("exit", (code) => reject(new Error(`wrangler dev exited with ${code}: ${out.slice(-500)}`)));
    });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (worker?.pid) process.kill(-worker.pid, "SIGTERM");
  });

  it("serves the page and runs a prediction on the Worker and in the browser (WASM core)", async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForSelector("body[data-ready=true]");
    await page.selectOption("#article", "1");
    await page.waitForFunction(() => document.querySelectorAll("#chain li").length === 6);
    await page.click("#predict");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Ran on the server"));
    await page.check("input[name=mode][value=browser]");
    await page.click("#predict");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Ran in this browser"), null, {
      timeout: 60_000,
    });
    expect(await page.textContent("#status")).toMatch(/wasm-core-int8|webgpu|baseline/);
    await page.screenshot({ path: join(SCREENSHOTS, "page-worker.png") });
  });
});
