// The page's API client: hono/client over the app's own route types, so a changed route breaks this build.
import { type ClientResponse, hc } from "hono/client";
import type { AppType } from "../../api/app.ts";

export const client = hc<AppType>("/");

/** The body type of a route's 200 response. */
type Ok<R> = R extends ClientResponse<infer T, infer S, infer _F> ? (S extends 200 ? T : never) : never;

/** The JSON body of a 200 response, or an Error with the API's {error: {code, message}}. */
export async function unwrap<R extends ClientResponse<unknown, number, string>>(response: Promise<R>): Promise<Ok<R>> {
  const res = await response;
  if (res.ok) return (await res.json()) as Ok<R>;
  const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  throw new Error(data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`);
}
