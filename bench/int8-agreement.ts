// `npm run bench:int8`: how far --precision int8 moves every golden store's
// answers from fp32's (top labels, logits, hidden states; for translation
// stores, generated tokens and scored log-probabilities). Prints the table
// the README's Performance section shows. Speed is in `npm run bench`.

import { agreementStores, agreementTable, measureAgreement, type Agreement } from "../test/support/int8-agreement.ts";

const rows: Agreement[] = [];
for (const store of agreementStores()) {
  process.stderr.write(`${store.name}: ${store.cases.length} cases…\n`);
  rows.push(await measureAgreement(store));
}
console.log(agreementTable(rows));
