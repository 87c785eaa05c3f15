// Trigger data that carries a JavaScript value rather than its JSON text. Anything that reads it
// as RPC data gets the JSON text the Functions host would send (made when read), so every
// programming model works unchanged; an in-process model that knows this host can take the value
// itself and skip encoding and parsing it again on every orchestration replay.
import type { RpcTypedData } from '../contracts.js';

class ValueTriggerData implements RpcTypedData {
  readonly #value: unknown;

  constructor(value: unknown) {
    this.#value = value;
  }

  get json(): string {
    return JSON.stringify(this.#value);
  }

  static valueOf(data: unknown): { value: unknown } | undefined {
    return data instanceof ValueTriggerData ? { value: data.#value } : undefined;
  }
}

/** RPC trigger data for `value`. Whoever takes the value may change it: it is built for one call. */
export function valueTriggerData(value: unknown): RpcTypedData {
  return new ValueTriggerData(value);
}

/** The value behind trigger data made by valueTriggerData, or undefined for any other data. */
export function triggerValue(data: unknown): { value: unknown } | undefined {
  return ValueTriggerData.valueOf(data);
}
