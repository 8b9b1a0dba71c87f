// The chain of concepts: the context the models read (its last five items) and how it is shown.
import type { ContextItem } from "../../predict/types.ts";
import { $, element } from "./dom.ts";

export const CONTEXT = 5;

export interface ChainItem {
  text: string;
  /** Set for stored concepts (a demo article's or a picked result): sent as {row}. */
  row?: number;
}

export const chain: ChainItem[] = [];

/** The request's context: stored concepts by row, other concepts as text. */
export function contextItems(): ContextItem[] {
  return chain.slice(-CONTEXT).map((c) => (c.row === undefined ? c.text : { row: c.row }));
}

export function setChain(items: ChainItem[]) {
  chain.splice(0, chain.length, ...items);
  renderChain();
}

export function renderChain() {
  $("chain").replaceChildren(
    ...chain.map((item, i) => {
      const li = element("li", i >= chain.length - CONTEXT ? "context" : undefined);
      if (item.row !== undefined) li.dataset.row = String(item.row);
      li.append(element("span", "text", item.text));
      return li;
    }),
  );
  $("chain-count").textContent = chain.length ? `(${chain.length})` : "";
}
