// Says, once and again whenever it changes, how the router reads the PBX's CDR
// times and what UTC offset the PBX runs at: the first thing to check when
// stickiness "never happens" on a PBX in local time. Warns when PBX_TIMEZONE
// disagrees with the PBX's own epoch fields.
import { IANAZone } from 'luxon';
import type { Logger } from '../log.js';
import { formatOffset, type PbxTimes } from './pbx-time.js';

export class PbxClockMonitor {
  private last: string | undefined;
  private warnedMismatch = false;

  constructor(private readonly log: Logger, private readonly zone?: string) {}

  observe(t: PbxTimes): void {
    const key = `${t.source}|${t.offsetMinutes}`;
    if (key !== this.last) {
      this.last = key;
      const how = {
        epoch: 'epoch fields of the Cdr event (exact)',
        zone: `PBX_TIMEZONE=${this.zone ?? ''}`,
        derived_offset: 'offset derived from the event time (map StartEpoch/AnswerEpoch/EndEpoch in cdr_manager.conf for exact times)',
        utc: 'read as UTC (no epoch fields, no reference time)',
      }[t.source];
      this.log.info({ pbxClock: { source: t.source, utcOffset: formatOffset(t.offsetMinutes) } }, `pbx cdr times: ${how}; PBX at UTC${formatOffset(t.offsetMinutes)}`);
    }
    if (this.zone && t.source === 'epoch' && !this.warnedMismatch) {
      const expected = IANAZone.create(this.zone).offset(t.end.toMillis());
      if (expected !== t.offsetMinutes) {
        this.warnedMismatch = true;
        this.log.warn(
          { pbxClock: { zone: this.zone, zoneOffset: formatOffset(expected), pbxOffset: formatOffset(t.offsetMinutes) } },
          'PBX_TIMEZONE disagrees with the PBX clock; the exact epoch fields are used',
        );
      }
    }
  }
}
