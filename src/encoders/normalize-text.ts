// A text as the encoders read it, shared by the API's request schemas and the page's in-browser encoder, so a
// pasted text is embedded alike on the server and in the browser.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0 and C1 controls and DEL, except tab, line feed and carriage return (white space the encoder reads as before).
const CONTROL = /[^\P{Cc}\t\n\r]/gu;

/** A request text as the encoder reads it: lone surrogates become U+FFFD, control characters spaces. */
export function normalizeText(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD").replace(CONTROL, " ");
}
