import { describe, expect, it } from "vitest";
import { parseCorpusLine, parseUnit, splitText } from "../../src/ingest/corpus.ts";

const paragraph = parseUnit("paragraph");

describe("parseCorpusLine", () => {
  it("reads the wiki shape and the text shape", () => {
    expect(parseCorpusLine('{"id":"12","title":"T","paragraphs":[" a ","b"]}', 1, paragraph)).toEqual({
      id: "12",
      title: "T",
      units: ["a", "b"],
    });
    expect(parseCorpusLine('{"id":7,"text":"one\\nline two\\n\\nthree"}', 1, paragraph)).toEqual({
      id: "7",
      title: "7",
      units: ["one line two", "three"],
    });
  });

  it("splits paragraphs into groups of N sentences with sentences:N", () => {
    const line = JSON.stringify({ id: "s", title: "S", paragraphs: ["One. Two! Three? Four.", "Five."] });
    expect(parseCorpusLine(line, 1, parseUnit("sentences:2")).units).toEqual(["One. Two!", "Three? Four.", "Five."]);
    expect(parseCorpusLine(line, 1, parseUnit("sentences:1")).units).toHaveLength(5);
  });

  it.each([
    ["{not json", /line 9: not valid JSON/],
    ["[1,2]", /line 9: expected a JSON object/],
    ['{"title":"T","paragraphs":["a"]}', /^line 9: id: expected a non-empty string or a number, got nothing \(field missing\)$/],
    ['{"id":"","paragraphs":["a"]}', /^line 9: id: expected a non-empty string or a number, got ""$/],
    ['{"id":"x","title":3,"paragraphs":["a"]}', /^line 9: title: expected a string, got 3$/],
    ['{"id":"x","paragraphs":"abc"}', /^line 9: paragraphs: expected an array, got "abc"$/],
    ['{"id":"x","paragraphs":["a",5]}', /^line 9: paragraphs\.1: expected a string, got 5$/],
    ['{"id":"x","paragraphs":["a","  "]}', /^line 9: paragraphs\.1: expected a non-empty string, got ""$/],
    ['{"id":"x","text":["a"]}', /^line 9: text: expected a string, got an array of 1$/],
    ['{"id":"x","title":"T"}', /line 9: missing field "paragraphs" \(array of strings\) or "text" \(string\)/],
    ['{"id":"x","text":"   "}', /line 9: document has no text/],
  ])("names the line and the field: %s", (line, message) => {
    expect(() => parseCorpusLine(line, 9, paragraph)).toThrow(message);
  });
});

describe("parseUnit / splitText", () => {
  it("rejects unknown units", () => {
    expect(() => parseUnit("sentences:0")).toThrow(/--unit must be/);
    expect(() => parseUnit("words")).toThrow(/--unit must be/);
  });

  it("splits on single newlines when there is no blank line", () => {
    expect(splitText("a\r\nb\n\n\n")).toEqual(["a", "b"]);
    expect(splitText("a\nb")).toEqual(["a", "b"]);
  });
});
