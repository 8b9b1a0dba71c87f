/**
 * A request the service cannot answer, with the HTTP status, a stable code and the offending request field
 * (e.g. `context.2.row`). The API turns it into `{error: {code, message, field}}`; the page shows the message.
 */
export class RequestError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 413 | 415 | 500 | 501 | 503;
  readonly code: string;
  readonly field?: string;
  constructor(status: RequestError["status"], code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}
