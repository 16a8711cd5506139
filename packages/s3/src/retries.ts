/**
 * Retrying a whole upload whose body is a stream the driver can open again (a LocalFile, or any
 * replayable source). The SDK retries buffers by itself but never a stream it has consumed, so
 * one 503 SlowDown would fail such a save. The retry policy is the SDK's own (StandardRetryStrategy:
 * exponential backoff with full jitter, a shared retry quota, the client's maxAttempts) and so is
 * the classification of what is worth retrying (throttling, 5xx, resets and timeouts).
 */
import { isServerError, isThrottlingError, isTransientError, StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo } from '@smithy/types';
import { setTimeout as sleep } from 'node:timers/promises';
import { isNetworkFailure } from './errors';

type SdkError = Parameters<typeof isTransientError>[0];

/** Which retryable kind an upload failure is, or undefined when retrying cannot help. */
export function retryableKind(error: unknown): RetryErrorInfo['errorType'] | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const sdkError = error as SdkError;
  if (isThrottlingError(sdkError)) return 'THROTTLING';
  if (isTransientError(sdkError)) return 'TRANSIENT';
  if (isServerError(sdkError)) return 'SERVER_ERROR';
  // A Node error from another realm (a Jest sandbox, some bundlers) reaches the SDK's classifier
  // without its code, only as the SDK's wrapper message.
  if (isNetworkFailure(error)) return 'TRANSIENT';
  return undefined;
}

/** One strategy per storage, so concurrent saves share its retry quota as SDK calls do. */
export class UploadRetries {
  private readonly strategy: StandardRetryStrategy;

  constructor(maxAttempts: () => Promise<number>) {
    this.strategy = new StandardRetryStrategy(maxAttempts);
  }

  /** Run `attempt` until it succeeds, fails for a reason retrying cannot fix, or runs out of tries. */
  async run<T>(attempt: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    let token = await this.strategy.acquireInitialRetryToken('filefield-upload');
    for (;;) {
      try {
        const result = await attempt();
        this.strategy.recordSuccess(token);
        return result;
      } catch (error) {
        const errorType = signal?.aborted ? undefined : retryableKind(error);
        if (errorType === undefined) throw error;
        try {
          token = await this.strategy.refreshRetryTokenForRetry(token, { errorType });
        } catch {
          throw error;
        }
        await sleep(token.getRetryDelay(), undefined, { signal }).catch(() => {
          throw error;
        });
      }
    }
  }
}
