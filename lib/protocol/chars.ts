/** Named bytes of the NATS text protocol (ASCII). */
export const CR = 13;
export const LF = 10;
export const SPACE = 32;
export const TAB = 9;
export const DIGIT_0 = 48;
export const DIGIT_9 = 57;
/** OR-ing an ASCII letter with this lower-cases it (verbs are case-insensitive). */
export const LOWER = 0x20;

/** Encodes an ASCII string to bytes (constants only, never on the hot path). */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
