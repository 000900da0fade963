/**
 * The delivery worker's entry point, built into the tracker bundle as an inline worker (see
 * delivery.ts): a tracker served from another origin than the page cannot start a worker from its
 * own URL, but can from a `blob:` URL the page's origin owns.
 */

import { type WorkerPort, runDeliveryWorker } from "./delivery-worker";

const scope = self as unknown as WorkerPort & { close(): void };
runDeliveryWorker(scope, { close: () => scope.close() });
