// Vite's inline worker import (delivery.ts): a class whose instances are Workers started from a
// `blob:` URL holding the bundled worker code.
declare module "*?worker&inline" {
  const InlineWorker: new (options?: { name?: string }) => Worker;
  export default InlineWorker;
}
