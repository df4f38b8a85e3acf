import { inspect } from 'node:util';

/**
 * A secret value (the AccessKey secret). It cannot leak by accident: String(), JSON.stringify(),
 * util.inspect() and template literals all show `[REDACTED]`; only `reveal()` gives the value, and
 * every value ever wrapped is registered so `redact()` can scrub it from any text we print.
 */
export const REDACTED = '[REDACTED]';
const known = new Set<string>();

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    // Very short strings would make redact() mangle unrelated text; real secrets are 30 chars.
    if (value.length >= 4) known.add(value);
  }

  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Replace every registered secret value in `text` with [REDACTED]. */
export function redact(text: string): string {
  let out = text;
  for (const v of known) if (out.includes(v)) out = out.split(v).join(REDACTED);
  return out;
}

/** Every value registered so far, for redactors that must also find its encoded forms (the support bundle). */
export function registeredSecrets(): string[] {
  return [...known];
}

const ENV_SECRET = 'ALIBABA_CLOUD_ACCESS_KEY_SECRET';
let envSecret: Secret | undefined;

/**
 * Called once when the CLI starts, before any command: the AccessKey secret leaves the process
 * environment, so no child (helm, kubectl credential plugins, probes) of any command inherits it, and
 * it is registered for redaction. Commands that read it ask `environmentSecret()`.
 */
export function takeEnvironmentSecret(env: NodeJS.ProcessEnv = process.env): void {
  const v = env[ENV_SECRET];
  delete env[ENV_SECRET];
  if (v) envSecret = new Secret(v);
}

/** The secret the environment held when the CLI started (see takeEnvironmentSecret). */
export function environmentSecret(): Secret | undefined {
  return envSecret;
}
