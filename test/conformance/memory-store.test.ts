import { MemoryDocumentStore } from '../../shared/adapters/memory-document-store.js';
import { documentStoreConformance } from './document-store.suite.js';

documentStoreConformance('memory', async () => ({ store: new MemoryDocumentStore(), cleanup: async () => {} }));
