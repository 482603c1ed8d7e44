import http from 'node:http';
import type net from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  body: { startDate: string; endDate: string; timeAxis: string };
  headers: http.IncomingHttpHeaders;
}

export type FaultHandler = (request: SeenRequest, response: http.ServerResponse, call: number) => void | Promise<void>;

/** A loopback server that answers export calls however a test tells it to, and counts them. */
export async function startFaultServer(handler: FaultHandler) {
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const request = { method: req.method ?? 'GET', url: req.url ?? '/', body: JSON.parse(raw || '{}'), headers: req.headers };
      seen.push(request);
      void handler(request, res, seen.length);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
