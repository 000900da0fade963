import { describe, expect, it } from "vitest";
import { emptyPage, withoutSession, withPage, withSession } from "../src/session-page";

// Ids that sort like UUIDv7 text: a higher number is a newer session.
const id = (n: number) => `0193e0b6-0000-7000-8000-${String(n).padStart(12, "0")}`;
type Row = { id: string; label: string };
const s = (n: number, label = ""): Row => ({ id: id(n), label });
const empty = () => emptyPage<Row>();
const ids = (state: { sessions: readonly { id: string }[] }) => state.sessions.map((x) => Number(x.id.slice(-12)));

describe("the session list's merge of pages and watch events", () => {
  it("keeps a first page in newest-first order and adds the next page after it", () => {
    let page = withPage(empty(), { sessions: [s(9), s(7), s(5)], next_cursor: id(5) }, true);
    page = withPage(page, { sessions: [s(4), s(2)], next_cursor: null }, false);
    expect(ids(page)).toEqual([9, 7, 5, 4, 2]);
    expect(page.cursor).toBeNull();
  });

  it("replaces what is shown when a first page arrives again", () => {
    let page = withPage(empty(), { sessions: [s(9), s(7)], next_cursor: null }, true);
    page = withPage(page, { sessions: [s(8)], next_cursor: null }, true);
    expect(ids(page)).toEqual([8]);
  });

  it("puts a new session on top", () => {
    let page = withPage(empty(), { sessions: [s(9), s(7)], next_cursor: id(7) }, true);
    page = withSession(page, s(12));
    expect(ids(page)).toEqual([12, 9, 7]);
  });

  it("updates a changed session in place", () => {
    let page = withPage(empty(), { sessions: [s(9), s(7)], next_cursor: null }, true);
    page = withSession(page, s(7, "ended"));
    expect(ids(page)).toEqual([9, 7]);
    expect(page.sessions[1]?.label).toBe("ended");
  });

  it("places a session that starts matching among the loaded pages by age", () => {
    let page = withPage(empty(), { sessions: [s(9), s(5)], next_cursor: id(5) }, true);
    page = withSession(page, s(7));
    expect(ids(page)).toEqual([9, 7, 5]);
  });

  it("leaves a session older than the loaded pages to Load more", () => {
    const page = withPage(empty(), { sessions: [s(9), s(5)], next_cursor: id(5) }, true);
    expect(withSession(page, s(3))).toBe(page);
  });

  it("shows an old session when every page is loaded", () => {
    let page = withPage(empty(), { sessions: [s(9), s(5)], next_cursor: null }, true);
    page = withSession(page, s(3));
    expect(ids(page)).toEqual([9, 5, 3]);
  });

  it("removes a session that is gone and keeps the cursor, so the next page still follows", () => {
    let page = withPage(empty(), { sessions: [s(9), s(5)], next_cursor: id(5) }, true);
    page = withoutSession(page, id(5));
    expect(ids(page)).toEqual([9]);
    expect(page.cursor).toBe(id(5));
    expect(withoutSession(page, id(42))).toBe(page);
  });

  it("takes a session the next page repeats only once", () => {
    let page = withPage(empty(), { sessions: [s(9), s(5)], next_cursor: id(5) }, true);
    page = withPage(page, { sessions: [s(5, "again"), s(1)], next_cursor: null }, false);
    expect(ids(page)).toEqual([9, 5, 1]);
  });
});
