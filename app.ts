// The fnbatch Functions app: its HTTP API, the pool maintenance timer, and the job orchestration
// with its activities. package.json "main" points at the compiled form of this file.
import './functions/index.js';
import './orchestrators/index.js';
