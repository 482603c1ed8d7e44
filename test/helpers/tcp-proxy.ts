import net from 'node:net';

/** A loopback TCP proxy a test can cut and restore, to take a real service away and bring it back. */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** Bytes from the service still to pass before a cut armed by `cutAfter`, and its resolver. */
  private budget: { bytes: number; done: () => void } | null = null;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      upstream.on('data', (data: Buffer) => this.spend(data.length));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Drops every connection and stops listening: to its clients the service is gone. */
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  /**
   * Cuts once `bytes` more have come from the service, on any connection: the service fails in
   * the middle of an answer it is still sending, however much the sockets on either side could
   * have buffered ahead. Resolves when the cut is done.
   */
  cutAfter(bytes: number): Promise<void> {
    return new Promise((resolve) => (this.budget = { bytes, done: resolve }));
  }

  private spend(bytes: number) {
    if (!this.budget) return;
    this.budget.bytes -= bytes;
    if (this.budget.bytes > 0) return;
    const { done } = this.budget;
    this.budget = null;
    void this.cut().then(done);
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    await this.start(this.port);
  }
}
