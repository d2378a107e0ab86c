/// <reference types="node" />
import type { KeyObject } from "node:crypto";

/** Raw request headers: Node's `req.headers`, a fetch `Headers`, or a plain object (names in any case). */
export type HeadersLike =
  | Record<string, string | string[] | undefined>
  | { entries(): IterableIterator<[string, string]>; get(name: string): string | null };

/** The raw body as received. */
export type Body = Buffer | Uint8Array | string;

export interface VerifyOptions {
  /** The clock to check the timestamp against, in epoch seconds (default: now). */
  now?: number;
}

export class VerificationError extends Error {}
export class KeyFetchError extends VerificationError {}

export class Ordergroove {
  constructor(signingKey: string | string[], options?: { toleranceSeconds?: number });
  verify(body: Body, headers: HeadersLike, options?: VerifyOptions): void;
}

export interface StandardWebhooksOptions {
  /** `whsec_…`: verifies `v1` (HMAC-SHA256). */
  secret?: string | string[];
  /** `whpk_…`: verifies `v1a` (Ed25519). */
  publicKey?: string | string[];
  /** The target's `/jwks/{target_id}.json`: verifies `v1a` with the keys it lists (fetched, cached). */
  jwksUrl?: string;
  toleranceSeconds?: number;
  jwksCacheSeconds?: number;
}

export class StandardWebhooks {
  constructor(options: StandardWebhooksOptions);
  verify(body: Body, headers: HeadersLike, options?: VerifyOptions): Promise<void>;
}

export class Jwks {
  constructor(
    url: string,
    options?: {
      cacheSeconds?: number;
      minRefreshSeconds?: number;
      timeoutSeconds?: number;
      clock?: () => number;
    },
  );
  readonly url: string;
  current(): Promise<KeyObject[]>;
  refreshed(): Promise<KeyObject[] | null>;
}
