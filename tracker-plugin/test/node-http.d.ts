// The little of Node's `node:http` that test/network.test.ts uses to answer the page's requests
// from a real server on a loopback port (the package has no @types/node; the tests run on Node).
declare module "node:http" {
  export interface IncomingMessage {
    method?: string;
    url?: string;
    setEncoding(encoding: "utf8"): void;
    on(event: "data", listener: (chunk: string) => void): void;
    on(event: "end", listener: () => void): void;
  }
  export interface ServerResponse {
    writeHead(status: number, headers?: Record<string, string>): ServerResponse;
    end(body?: string): void;
  }
  export interface Server {
    listen(port: number, host: string, listening: () => void): Server;
    address(): { port: number } | string | null;
    close(closed?: () => void): Server;
    closeAllConnections(): void;
  }
  export function createServer(handle?: (req: IncomingMessage, res: ServerResponse) => void): Server;
}
