// A DocumentStore held in process memory, for tests and the simulator. Deterministic: ETags come
// from a counter, and there are no clocks or timers.

import { DocumentTable } from './document-table.js';
import { TableDocumentStore } from './table-document-store.js';

export class MemoryDocumentStore extends TableDocumentStore {
  constructor() {
    super(new DocumentTable());
  }
}
