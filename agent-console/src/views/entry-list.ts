// The list inside a side panel (console, network): the first `count` entries of a growing source
// list, filtered, with a count of flagged ones (errors, failed requests). Panels call `update` on
// every tick; when the source only grew, just the new entries are rendered, and the list stays
// scrolled to the bottom if it was there.

import { h } from "../dom";

export interface EntryListOptions<T> {
  /** `class` of the `<ol>`. */
  className: string;
  row: (entry: T) => HTMLLIElement;
  /** Whether the panel's filter shows `entry`. */
  shows: (entry: T) => boolean;
  /** Whether `entry` counts as flagged (shown or not). */
  flagged: (entry: T) => boolean;
  /** Told how many rows are shown and how many entries so far are flagged, after each change. */
  counted: (shown: number, flagged: number) => void;
}

export class EntryList<T> {
  readonly el: HTMLOListElement;
  private source: readonly T[] | null = null;
  private rendered = 0;
  private flagged = 0;

  constructor(private readonly options: EntryListOptions<T>) {
    this.el = h("ol", { class: options.className });
  }

  /** Shows the first `count` entries of `source`. */
  update(source: readonly T[], count = source.length): void {
    if (source === this.source && count >= this.rendered) {
      this.appendRange(this.rendered, count);
    } else {
      this.source = source;
      this.rendered = 0;
      this.flagged = 0;
      this.el.replaceChildren();
      this.appendRange(0, count);
    }
  }

  /** The filter changed: the same entries again, through it. */
  refilter(): void {
    const source = this.source ?? [];
    const count = this.rendered;
    this.source = null;
    this.update(source, count);
  }

  private appendRange(from: number, to: number): void {
    const source = this.source ?? [];
    if (to > from) {
      const list = this.el;
      const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
      const fragment = document.createDocumentFragment();
      for (let i = from; i < to; i++) {
        const entry = source[i];
        if (entry === undefined) continue;
        if (this.options.flagged(entry)) this.flagged++;
        if (this.options.shows(entry)) fragment.appendChild(this.options.row(entry));
      }
      list.appendChild(fragment);
      this.rendered = to;
      if (atBottom) list.scrollTop = list.scrollHeight;
    }
    this.options.counted(this.el.childElementCount, this.flagged);
  }
}
