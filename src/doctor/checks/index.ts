// The doctor's checks, in the order a call meets what they check.
import type { Check } from '../check.js';
import { ariCheck, ariWriteCheck } from './ari.js';
import { amiCheck } from './ami.js';
import { stasisAppCheck } from './stasis-app.js';
import { dialplanCheck } from './dialplan.js';
import { routesFileCheck } from './routes-file.js';
import { managerUserCheck } from './manager-user.js';
import { cdrManagerCheck } from './cdr-manager.js';
import { cdrStoreCheck } from './cdr-store.js';
import { timestampEventsCheck } from './timestamp-events.js';
import { agentQualifyCheck } from './agent-qualify.js';
import { queuesCheck } from './queues.js';
import { clockSkewCheck } from './clock-skew.js';
import { esTemplatesCheck } from './es-templates.js';

export const checks: readonly Check[] = [
  ariCheck,
  amiCheck,
  ariWriteCheck,
  stasisAppCheck,
  dialplanCheck,
  routesFileCheck,
  managerUserCheck,
  cdrManagerCheck,
  cdrStoreCheck,
  timestampEventsCheck,
  agentQualifyCheck,
  queuesCheck,
  clockSkewCheck,
  esTemplatesCheck,
];
