import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request as the receiver saw it, its signature checked by the standardwebhooks library (an independent implementation). */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  /** Which of the receiver's secrets the signature verifies with. */
  verifiedWith: string[];
  body: string;
  json: any;
  path: string;
  answered: number;
}

/** How to answer one request: now, after `delayMs`, or (`held`) only when the test calls `release`. */
export type Answer = (request: { count: number; path: string }) => {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
  held?: boolean;
};

/** A real HTTP receiver on a loopback port, answering as each test needs and counting what came. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  secrets: string[] = [];
  answer: Answer = () => ({ status: 200 });
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly held: Array<() => void> = [];
  url = '';

  /** Requests answered `held` that have not been answered yet. */
  get holding(): number {
    return this.held.length;
  }

  /** Answers the first `count` held requests now (all of them by default). */
  release(count = this.held.length): void {
    for (const send of this.held.splice(0, count)) send();
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      const verifiedWith = this.secrets.filter((secret) => {
        try {
          new Webhook(secret).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      const path = req.url ?? '/';
      const reply = this.answer({ count: this.received.filter((r) => r.path === path).length + 1, path });
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      this.received.push({
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        verifiedWith,
        body,
        json,
        path,
        answered: reply.status,
      });
      const send = () => {
        if (!res.destroyed) res.writeHead(reply.status, reply.headers ?? {}).end('ok');
      };
      if (reply.held) this.held.push(send);
      else if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
