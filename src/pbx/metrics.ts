// Metrics of the several-PBXs machinery, on the router's registry: this router's
// writes of its agents' states (a failing one leaves other PBXs reading stale, then
// expired states), and how reads of other PBXs' agents went.
import { Counter, type Registry } from 'prom-client';

export class PbxMetrics {
  private readonly writes: Counter<'result'>;
  private readonly reads: Counter<'outcome'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.writes = new Counter({ name: 'sticky_agent_state_writes_total', help: 'Bulk writes of this PBX\'s agent states to the shared index, by result', labelNames: ['result'], registers });
    this.reads = new Counter({
      name: 'sticky_remote_agent_reads_total',
      help: 'Another PBX\'s agent considered for a call: state read, or why not (no_state_published, state_expired, state_not_read_in_budget, no_route_to_pbx, no_shared_state)',
      labelNames: ['outcome'],
      registers,
    });
    for (const result of ['ok', 'error']) this.writes.inc({ result }, 0);
    for (const outcome of ['read', 'state_expired', 'state_not_read_in_budget']) this.reads.inc({ outcome }, 0);
  }

  written(ok: boolean): void {
    this.writes.inc({ result: ok ? 'ok' : 'error' });
  }

  read(note: string | undefined): void {
    this.reads.inc({ outcome: note ?? 'read' });
  }
}
