// A Map that holds at most `maxEntries`: adding one more drops the oldest insertion.
// For the per-call lookups kept while events trickle in (a CDR that never comes, an
// AMI gap) that must not grow without bound.
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(
    readonly maxEntries: number,
    /** Told about each entry dropped to make room (not about delete()). */
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    super();
  }

  override set(key: K, value: V): this {
    super.set(key, value);
    while (this.size > this.maxEntries) {
      const oldest = this.entries().next();
      if (oldest.done) break;
      const [k, v] = oldest.value;
      super.delete(k);
      this.onEvict?.(k, v);
    }
    return this;
  }

  /** The value for `key`, removed: for entries read once (the CDR that consumes them). */
  take(key: K): V | undefined {
    const v = super.get(key);
    super.delete(key);
    return v;
  }
}
