import { describe, expect, it } from "vitest";
import { JsonArrayError, JsonArraySplitter } from "../src/json-array";

/** Elements of `text` fed in pieces of `size` characters (the whole text at once without). */
function split(text: string, size = text.length): unknown[] {
  const splitter = new JsonArraySplitter();
  const out: unknown[] = [];
  for (let i = 0; i < text.length; i += Math.max(1, size)) out.push(...splitter.push(text.slice(i, i + size)));
  splitter.finish();
  return out;
}

function failure(text: string, chunks: string[] = [text]): JsonArrayError {
  const splitter = new JsonArraySplitter();
  try {
    for (const c of chunks) splitter.push(c);
    splitter.finish();
  } catch (e) {
    expect(e).toBeInstanceOf(JsonArrayError);
    return e as JsonArrayError;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

/** Strings that a scanner counting braces or quotes naively gets wrong. */
const TRICKY = [
  { type: 3, data: { text: "}{][,," }, timestamp: 1 },
  { type: 3, data: { text: 'say \\"hi\\" }', nested: [{ a: "]" }, [[]]] }, timestamp: 2 },
  { type: 3, data: { text: "ends in a backslash \\" }, timestamp: 3 },
  { type: 3, data: { text: "\\\\\\\"}" }, timestamp: 4 },
  { type: 3, data: { text: "unicode é 漢字 🎉 and \u2028 and \\u007d" }, timestamp: 5 },
  { type: 3, data: { empty: {}, list: [], zero: 0, no: null, yes: true, neg: -1.5e3 }, timestamp: 6 },
];

describe("JsonArraySplitter", () => {
  it("reads an array of objects whole", () => {
    expect(split(JSON.stringify(TRICKY))).toEqual(TRICKY);
  });

  it("gives the same elements however the text is cut, inside strings and escapes too", () => {
    const text = JSON.stringify(TRICKY, null, 1);
    for (let size = 1; size <= 40; size++) expect(split(text, size)).toEqual(TRICKY);
  });

  it("hands on each element as soon as its closing brace arrives", () => {
    const splitter = new JsonArraySplitter();
    expect(splitter.push('[{"a":1},{"b":')).toEqual([{ a: 1 }]);
    expect(splitter.push('"}"}')).toEqual([{ b: "}" }]);
    expect(splitter.push(",")).toEqual([]);
    expect(splitter.push('{"c":[1,{"d":2}]}]')).toEqual([{ c: [1, { d: 2 }] }]);
    splitter.finish();
    expect(splitter.elements).toBe(3);
  });

  it("cuts between a backslash and the quote it escapes", () => {
    const splitter = new JsonArraySplitter();
    expect(splitter.push('[{"t":"a\\')).toEqual([]);
    expect(splitter.push('"}"}, {"u":1}]')).toEqual([{ t: 'a"}' }, { u: 1 }]);
    splitter.finish();
  });

  it("accepts whitespace anywhere between elements, a byte-order mark, and an empty array", () => {
    expect(split('\ufeff \n[\n {"a":1} ,\r\n\t{"b":2}\n]\n ')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(split("[]")).toEqual([]);
    expect(split(" [ ] ")).toEqual([]);
  });

  it("reads a large element cut into many pieces", () => {
    const big = { type: 2, data: { html: "<div>{}</div>".repeat(50_000), quote: '"' }, timestamp: 9 };
    expect(split(JSON.stringify([big, { type: 3, data: {}, timestamp: 10 }]), 4093)).toHaveLength(2);
  });

  it("says where the text stops being an array of events", () => {
    expect(failure('{"a":1}').message).toMatch(/expected "\[" to open the array of events, found "\{" \(at character 0\)/);
    expect(failure("[1,2]").message).toMatch(/expected an event \(a JSON object\), found "1"/);
    expect(failure('[{"a":1} {"b":2}]').message).toMatch(/expected "," or "\]" after event 1, found "\{" \(at character 9\)/);
    expect(failure('[{"a":1},]').message).toMatch(/expected an event \(a JSON object\), found "\]"/);
    expect(failure('[{"a":1}] x').message).toMatch(/unexpected "x" after the end of the array \(at character 10\)/);
    const bad = failure('[{"a":1},{"b":tru}]');
    expect(bad.message).toMatch(/^event 2 is not valid JSON: /);
    expect(bad.position).toBe(17);
    expect(failure('[{"a":1}]', ["[{", '"a":1}]', " ]"]).position).toBe(10);
  });

  it("says where a cut-off array stopped", () => {
    expect(failure("").message).toBe("the list of events was cut off before the array began");
    expect(failure('[{"a":1}').message).toBe("the list of events was cut off after event 1");
    expect(failure('[{"a":1},').message).toBe("the list of events was cut off after event 1");
    expect(failure('[{"a":1},{"b":"}').message).toBe("the list of events was cut off inside event 2");
  });

  it("keeps failing after an error, rather than reading on from the middle", () => {
    const splitter = new JsonArraySplitter();
    expect(() => splitter.push("[x")).toThrow(JsonArrayError);
    expect(() => splitter.push('{"a":1}]')).toThrow(/found "x"/);
    expect(() => splitter.finish()).toThrow(/found "x"/);
  });

  it("refuses an element longer than its bound instead of buffering the rest of the body", () => {
    const splitter = new JsonArraySplitter(100);
    splitter.push('[{"s":"');
    expect(() => splitter.push("x".repeat(200))).toThrow(/event 1 is longer than 100 characters/);
    expect(() => new JsonArraySplitter(10).push(`[{"s":"${"y".repeat(20)}"}]`)).toThrow(/event 1 is longer than 10/);
  });
});
