import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** Repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The test stores, one folder each: test/fixtures/<store>. */
export const LOCAL_FIXTURES = path.join(ROOT, "test/fixtures");
/** The folder (under test/fixtures) of the golden store written by AdapterHub itself. */
export const ADAPTERHUB_STORE = "adapterhub";
/** The golden store of adapter methods (prefix tuning, Compacter, UniPELT, MAM) on several families: test/fixtures/methods/README.md. */
export const METHODS_STORE = "methods";
/**
 * The golden store written by AdapterHub 3.2.1 (test/fixtures/adapterhub/README.md).
 * POLYHEAD_FIXTURES points the tests and `npm run load` at another copy of it.
 */
export const ADAPTERHUB_FIXTURES = process.env.POLYHEAD_FIXTURES ?? path.join(LOCAL_FIXTURES, ADAPTERHUB_STORE);

/** Every store under test/fixtures, each once: the AdapterHub store first, then the generated ones by name. */
export function fixtureStores(): { name: string; dir: string }[] {
  const names = readdirSync(LOCAL_FIXTURES)
    // a store has models/ (other folders hold other test data, e.g. decode/)
    .filter((d) => statSync(path.join(LOCAL_FIXTURES, d)).isDirectory() && existsSync(path.join(LOCAL_FIXTURES, d, "models")))
    .sort((a, b) => Number(b === ADAPTERHUB_STORE) - Number(a === ADAPTERHUB_STORE) || a.localeCompare(b));
  return names.map((name) => ({ name, dir: name === ADAPTERHUB_STORE ? ADAPTERHUB_FIXTURES : path.join(LOCAL_FIXTURES, name) }));
}
