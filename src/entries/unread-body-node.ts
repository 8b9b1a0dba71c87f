// Node adapter: closing a connection whose request body was not read to the end, without resetting it.
//
// The API answers some requests before reading their body: a 413 on Content-Length alone (src/api/middleware/
// body-limit.ts), a 401 or 429 before the body is touched. The client may still be sending. Closing the socket then
// makes the kernel send a TCP reset, and a reset discards the answer the client has not read yet: it sees
// "connection reset" instead of the 413 (issue 13). @hono/node-server's own clean-up drains such a body for at most
// 500 ms and then destroys the socket (a slow client is reset), and it cannot drain a body the app opened as a stream,
// which it then force-closes under a keep-alive client that may already be reusing the connection.
//
// So: answer with `Connection: close` (the client will not reuse the connection), and after the answer is written
// close our side gracefully — FIN, then keep reading and discarding what the client still sends until it closes its
// side, for at most LINGER_MS and LINGER_BYTES — the "lingering close" of HTTP servers (nginx's lingering_close).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export const LINGER_MS = 10_000;
export const LINGER_BYTES = 64 * 1024 * 1024;

const lingering = Symbol("lingering");

/** Call before the response is written, for a request whose body is not complete. */
export function closeAfterUnreadBody(incoming: IncomingMessage, outgoing: ServerResponse, limits = { ms: LINGER_MS, bytes: LINGER_BYTES }) {
  const socket = incoming.socket as Socket & { [lingering]?: boolean; destroySoon?: () => void };
  if (!socket || socket.destroyed || socket[lingering]) return;
  socket[lingering] = true;
  // Node writes `Connection: close` and calls socket.destroySoon() once the response is finished.
  outgoing.shouldKeepAlive = false;
  socket.destroySoon = () => {
    socket.end(); // FIN after the response's bytes
    let read = 0;
    // Whatever consumed the body so far (a web stream that stopped pulling) is dropped: the rest is discarded.
    incoming.removeAllListeners("data");
    incoming.on("data", (chunk: Buffer) => {
      read += chunk.length;
      if (read > limits.bytes) socket.destroy();
    });
    incoming.resume();
    const timer = setTimeout(() => socket.destroy(), limits.ms);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    // The client has sent everything and closed its side (or the body ended): nothing is left to reset.
    socket.once("end", () => socket.destroy());
  };
}
