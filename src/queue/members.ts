// Who is a member of which queue, paused or not, on a call or in wrap-up, as
// app_queue itself sees it: fed by AMI queue events and re-read with QueueStatus at
// every (re)connect, so that deciding costs no request on the call path.
//
// An agent is who the member is: its MemberName when that is a person's name (a
// hot-desking agent logged in with AddQueueMember … MemberName=alice), else the
// extension in its interface (`PJSIP/1002`, FreePBX's `Local/1002@from-queue/n`).
// A call-back rings the member's interface, wherever the agent is logged in now.
import type { AmiEvent } from '../ami/connection.js';
import type { AgentState } from '../routing/decide.js';
import { withTimeout } from '../timeout.js';
import { agentStateOfDeviceCode } from '../ari/endpoint-state.js';
import type { AmiConsumer } from '../ami/filter.js';

/** The AMI events this consumer reads (they must pass the session's event filter). */
export const queueStateEvents = [
  'QueueParams',
  'QueueMember',
  'QueueStatusComplete',
  'QueueMemberAdded',
  'QueueMemberRemoved',
  'QueueMemberPause',
  'QueueMemberStatus',
  'AgentComplete',
] as const;

export const queueStateConsumer: AmiConsumer = { name: 'queue state', events: queueStateEvents };

export interface QueueMember {
  queue: string;
  interface: string;
  name: string;
  stateInterface: string;
  paused: boolean;
  pausedReason?: string;
  /** Asterisk device state of the state interface: 0 unknown, 1 not in use, 2 in use, 3 busy, 4 invalid, 5 unavailable, 6 ringing, 7 ring+in use, 8 on hold. */
  status: number;
  inCall: boolean;
  /** Epoch ms the member's last queue call ended (LastCall, or AgentComplete's arrival). */
  lastCallMs: number;
  /** The member's own wrap-up (0 = the queue's). */
  wrapupSeconds: number;
}

/** The agent a member is (see the file comment). */
export function memberAgentId(m: { name?: string; interface?: string; stateInterface?: string }): string | undefined {
  if (m.name && !m.name.includes('/')) return m.name;
  return extensionOf(m.interface) ?? extensionOf(m.stateInterface) ?? (m.name || m.interface || undefined);
}

function extensionOf(iface: string | undefined): string | undefined {
  // PJSIP/1002, SIP/1002, Local/1002@from-queue/n, hint:1002@ext-local
  const m = /^[A-Za-z0-9]+[/:]([A-Za-z0-9_+.]+?)(?:@[^/]*)?(?:\/[a-z]*)?$/.exec(iface ?? '');
  return m?.[1];
}

/** Pure: what a member is doing at `nowMs`, given the queue's wrap-up. */
export function memberState(m: QueueMember, nowMs: number, queueWrapupSeconds: number): AgentState {
  if (m.paused) return 'paused';
  const device = agentStateOfDeviceCode(m.status);
  if (m.inCall || device === 'busy') return 'busy';
  const wrapup = (m.wrapupSeconds > 0 ? m.wrapupSeconds : queueWrapupSeconds) * 1000;
  if (wrapup > 0 && m.lastCallMs > 0 && nowMs < m.lastCallMs + wrapup) return 'busy';
  return device;
}

export interface MemberLookup {
  state: AgentState;
  /** The member's interface: where to ring the agent. */
  dial?: string;
  member?: QueueMember;
}

export class QueueState {
  private queues = new Map<string, Map<string, QueueMember>>();
  private wrapups = new Map<string, number>();
  /** A QueueStatus snapshot being read (between the action and QueueStatusComplete). */
  private pending: Map<string, Map<string, QueueMember>> | undefined;
  private completed: (() => void) | undefined;
  /** True while the state reflects a snapshot taken on the current AMI session. */
  synced = false;

  constructor(private readonly now: () => number = Date.now) {}

  knows(queue: string): boolean {
    return this.queues.has(queue);
  }

  get queueNames(): string[] {
    return [...this.queues.keys()];
  }

  members(queue: string): QueueMember[] {
    return [...(this.queues.get(queue)?.values() ?? [])];
  }

  /** The AMI session dropped: events may be missed until the next snapshot. */
  unsync(): void {
    this.synced = false;
  }

  /**
   * Re-reads every queue (QueueStatus) and the queues' wrap-up times (GetConfig
   * queues.conf; without permission, only members' own wrap-up times count).
   * Resolves when the snapshot is complete.
   */
  async refresh(ami: { action(fields: Record<string, unknown>): Promise<Record<string, string | undefined>> }, timeoutMs = 5000): Promise<{ queues: number; members: number; wrapups: boolean }> {
    let wrapups = true;
    try {
      this.readWrapups(await ami.action({ Action: 'GetConfig', Filename: 'queues.conf' }));
    } catch {
      wrapups = false;
    }
    this.pending = new Map();
    const done = new Promise<void>((resolve) => (this.completed = resolve));
    try {
      // One deadline for the action and its events. A failed action (Asterisk still loading
      // app_queue) leaves no timer behind whose rejection nobody awaits.
      await withTimeout(
        async () => {
          await ami.action({ Action: 'QueueStatus' });
          await done;
        },
        timeoutMs,
        `QueueStatus did not complete within ${timeoutMs} ms`,
      );
    } finally {
      this.completed = undefined;
      this.pending = undefined;
    }
    return { queues: this.queues.size, members: [...this.queues.values()].reduce((n, q) => n + q.size, 0), wrapups };
  }

  onAmiEvent(e: AmiEvent): void {
    switch (e.Event) {
      case 'QueueParams':
        if (this.pending && e.Queue) this.pending.set(e.Queue, this.pending.get(e.Queue) ?? new Map<string, QueueMember>());
        return;
      case 'QueueMember': {
        const m = this.pending && toMember(e, e.Queue, e.Location ?? e.Interface);
        if (m) (this.pending!.get(m.queue) ?? this.pending!.set(m.queue, new Map()).get(m.queue)!).set(m.interface, m);
        return;
      }
      case 'QueueStatusComplete':
        if (this.pending) {
          this.queues = this.pending;
          this.synced = true;
          this.completed?.();
        }
        return;
      case 'QueueMemberAdded':
      case 'QueueMemberStatus':
      case 'QueueMemberPause': {
        const iface = e.Interface ?? e.Location;
        const current = e.Queue && iface ? this.queues.get(e.Queue)?.get(iface) : undefined;
        const m = toMember(e, e.Queue, iface, current);
        if (!m) return;
        this.queue(m.queue).set(m.interface, m);
        return;
      }
      case 'QueueMemberRemoved':
        if (e.Queue && e.Interface) this.queues.get(e.Queue)?.delete(e.Interface);
        return;
      case 'AgentComplete': {
        // Wrap-up starts when the queue call ends.
        const m = e.Queue && e.Interface ? this.queues.get(e.Queue)?.get(e.Interface) : undefined;
        if (m) m.lastCallMs = Math.max(m.lastCallMs, this.now());
        return;
      }
    }
  }

  /** The agent's state in `queue`, or undefined when the queue state cannot be trusted (not synced). */
  lookup(queue: string, agent: string): MemberLookup | undefined {
    if (!this.synced) return undefined;
    const q = this.queues.get(queue);
    if (!q) return undefined;
    const now = this.now();
    const mine = [...q.values()].filter((m) => memberAgentId(m) === agent);
    if (mine.length === 0) return { state: 'logged_out' };
    // Logged in on two phones: the one that can take the call.
    const order: AgentState[] = ['online', 'unknown', 'busy', 'paused', 'offline', 'logged_out'];
    const ranked = mine.map((m) => ({ m, s: memberState(m, now, this.wrapups.get(queue) ?? 0) })).sort((a, b) => order.indexOf(a.s) - order.indexOf(b.s));
    const best = ranked[0]!;
    return { state: best.s, dial: best.m.interface, member: best.m };
  }

  private queue(name: string): Map<string, QueueMember> {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new Map<string, QueueMember>()));
    return q;
  }

  /** GetConfig's `Category-000001: support` / `Line-000001-000004: wrapuptime=5`. */
  private readWrapups(res: Record<string, string | undefined>): void {
    const categories = new Map<string, string>();
    for (const [k, v] of Object.entries(res)) {
      const c = /^Category-(\d+)$/.exec(k);
      if (c && v) categories.set(c[1]!, v);
    }
    this.wrapups.clear();
    for (const [k, v] of Object.entries(res)) {
      const l = /^Line-(\d+)-\d+$/.exec(k);
      const kv = v ? /^\s*wrapuptime\s*=>?\s*(\d+)/i.exec(v) : null;
      const cat = l ? categories.get(l[1]!) : undefined;
      if (cat && kv) this.wrapups.set(cat, Number(kv[1]));
    }
  }
}

function toMember(e: AmiEvent, queue: string | undefined, iface: string | undefined, current?: QueueMember): QueueMember | undefined {
  if (!queue || !iface) return undefined;
  const num = (v: string | undefined, d: number) => (v !== undefined && /^-?\d+$/.test(v.trim()) ? Number(v) : d);
  const lastCallS = num(e.LastCall, 0);
  return {
    queue,
    interface: iface,
    name: e.MemberName ?? e.Name ?? current?.name ?? iface,
    stateInterface: e.StateInterface ?? current?.stateInterface ?? iface,
    paused: e.Paused !== undefined ? e.Paused === '1' : (current?.paused ?? false),
    ...((e.PausedReason ?? current?.pausedReason) ? { pausedReason: e.PausedReason ?? current?.pausedReason } : {}),
    status: num(e.Status, current?.status ?? 0),
    inCall: e.InCall !== undefined ? e.InCall === '1' : (current?.inCall ?? false),
    lastCallMs: Math.max(lastCallS * 1000, current?.lastCallMs ?? 0),
    wrapupSeconds: num(e.Wrapuptime, current?.wrapupSeconds ?? 0),
  };
}
