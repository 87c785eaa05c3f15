import { app } from '@azure/functions';
import { closeAppContext } from '../shared/app/context.js';
import './jobs.js';
import './tasks.js';
import './pools.js';
import './agent.js';
import './maintenance.js';

// On the local host this stops the local pool's agent processes with the host.
app.hook.appTerminate(() => closeAppContext());
