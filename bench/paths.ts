import { fileURLToPath } from "node:url";

export const WIKI = process.env.LVM_WIKI ?? fileURLToPath(new URL("../../shared/data/wiki/", import.meta.url));
export const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
