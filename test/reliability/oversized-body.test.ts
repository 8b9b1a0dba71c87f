// Oversized request bodies on the real Node server over loopback (src/entries/node.ts): every POST endpoint answers
// 413 in our JSON error shape, with and without Content-Length (chunked), without reading the body first, and the
// client sees the answer instead of a reset connection (issue 13: a 3 MB body to /v1/search reset the connection).
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/api/middleware/body-limit.ts";
import { startNodeServer } from "../helpers.ts";

const POSTS = ["/v1/next", "/v1/generate", "/v1/search", "/v1/embed", "/v1/admin/reload", "/v1/admin/metrics/purge"];
const BIG = 3 * 1024 * 1024;
const ROUNDS = process.env.LVM_RELIABILITY === "long" ? 10 : 2;

let server: { base: string; stop(): void };
beforeAll(async () => {
  server = await startNodeServer({ LVM_METRICS_DB: "off", LVM_ADMIN_KEY: "k" });
});
afterAll(() => server?.stop());

/** A body of `total` bytes sent 64 KiB at a time, `delayMs` apart (a slow client). */
function slowBody(total: number, delayMs: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      await new Promise((r) => setTimeout(r, delayMs));
      if (sent >= total) return controller.close();
      sent += 65536;
      controller.enqueue(new Uint8Array(65536).fill(32));
    },
  });
}

async function outcome(path: string, init: RequestInit): Promise<string> {
  try {
    const res = await fetch(`${server.base}${path}`, {
      method: "POST",
      ...init,
      headers: { "content-type": "application/json", authorization: "Bearer k" },
    });
    const body = (await res.json()) as { error?: { code: string } };
    return `${res.status} ${body.error?.code}`;
  } catch (error) {
    return `failed: ${(error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`;
  }
}

/**
 * Raw HTTP/1.1 over a socket: the headers and only `sendBytes` of the body, then waits (sending nothing more) for
 * the status line. Resolves with the status, or "no answer" when none came within `waitMs`.
 */
function partialUpload(path: string, headers: string, firstBytes: Buffer, waitMs = 5000): Promise<string> {
  const port = Number(new URL(server.base).port);
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("no answer");
    }, waitMs);
    socket.on("data", (d) => {
      got += d;
      const status = /^HTTP\/1\.1 (\d+)/.exec(got);
      if (status && got.includes("\r\n\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(status[1]);
      }
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      resolve(`failed: ${(e as Error & { code?: string }).code}`);
    });
    socket.write(`POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: Bearer k\r\n${headers}\r\n`);
    socket.write(firstBytes);
  });
}

/**
 * A slow client that sends all of a Content-Length body (64 KiB every `delayMs`) whatever the server answers, then
 * closes: resolves with the status it read and the socket error it got, if any (a reset loses the answer).
 */
function slowFullUpload(path: string, total: number, delayMs: number): Promise<string> {
  const port = Number(new URL(server.base).port);
  return new Promise((resolve) => {
    // Half-open allowed: like an HTTP client uploading, it goes on sending after the server's FIN.
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let got = "";
    let error = "";
    socket.on("data", (d) => (got += d));
    socket.on("error", (e) => (error = (e as Error & { code?: string }).code ?? e.message));
    socket.on("close", () => resolve(`${/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? "no answer"}${error ? ` ${error}` : ""}`));
    socket.write(`POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${total}\r\n\r\n`);
    let sent = 0;
    const tick = () => {
      if (socket.destroyed) return;
      if (sent >= total) return void socket.end();
      const n = Math.min(65536, total - sent);
      sent += n;
      socket.write(Buffer.alloc(n, 32));
      setTimeout(tick, delayMs);
    };
    tick();
  });
}

describe("oversized bodies on the Node server", () => {
  it("get 413 in our error shape on every POST endpoint, with Content-Length", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of POSTS) expect(`${path} ${await outcome(path, { body: " ".repeat(BIG) })}`).toBe(`${path} 413 body_too_large`);
    }
  });

  it("get 413 without Content-Length (chunked), from a slow client too", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of POSTS) {
        const init = { body: slowBody(BIG, round === 0 ? 0 : 15), duplex: "half" } as RequestInit;
        expect(`${path} ${await outcome(path, init)}`).toBe(`${path} 413 body_too_large`);
      }
    }
  });

  it("are refused before the body is read: the answer comes while most of the body is unsent", async () => {
    for (const path of POSTS) {
      expect(`${path} ${await partialUpload(path, `content-length: ${BIG}\r\n`, Buffer.alloc(1024, 32))}`).toBe(`${path} 413`);
      // Chunked: the limit can only be known once it is passed; the rest is never needed.
      const chunk = MAX_BODY_BYTES + 1024;
      const chunked = Buffer.concat([Buffer.from(`${chunk.toString(16)}\r\n`), Buffer.alloc(chunk, 32), Buffer.from("\r\n")]);
      expect(`${path} ${await partialUpload(path, "transfer-encoding: chunked\r\n", chunked)}`).toBe(`${path} 413`);
    }
  });

  it("reach a slow client with Content-Length as a 413 and a closed connection, not a reset", async () => {
    // 3 MiB over about 1.5 s: longer than @hono/node-server's 500 ms drain, after which it destroys the socket.
    expect(await slowFullUpload("/v1/search", BIG, 30)).toBe("413");
  });

  it("leave the server answering normally", async () => {
    const res = await fetch(`${server.base}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ vector: Array(512).fill(0.01), k: 1 }),
    });
    expect(res.status).toBe(200);
  });
});
