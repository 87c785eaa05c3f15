import './jobs.js';
import './tasks.js';
import './pools.js';
import './agent.js';
import './maintenance.js';
