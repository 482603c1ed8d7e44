import net from 'node:net';

/** The code a PostgreSQL CancelRequest carries where a startup message has its protocol version. */
const CANCEL_REQUEST_CODE = 80877102;

/** A loopback TCP proxy a test can cut and restore, to take a real service away and bring it back. */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** Bytes from the service still to pass before a cut armed by `cutAfter`, and its resolver. */
  private budget: { bytes: number; done: () => void } | null = null;
  /** Cancel requests answered but not yet sent on, while `holdCancels` is on. */
  private heldCancels: Buffer[] | null = null;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    // Half-closes pass through as on a direct path: a client that ends its side still gets what
    // the service sends after, and sees the end only once the service closed. (Closing at once made
    // a PostgreSQL cancel request look done before PostgreSQL had even read it.)
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      this.track(client);
      if (!this.heldCancels) return this.relay(client);
      client.once('data', (first: Buffer) =>
        first.length === 16 && first.readInt32BE(4) === CANCEL_REQUEST_CODE ? this.holdCancel(client, first) : this.relay(client, first),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    return socket;
  }

  private relay(client: net.Socket, first?: Buffer) {
    const upstream = this.track(net.connect({ port: this.targetPort, host: this.targetHost, allowHalfOpen: true }));
    if (first) upstream.write(first);
    client.pipe(upstream).pipe(client);
    upstream.on('data', (data: Buffer) => this.spend(data.length));
    // A reset on one side resets the other; a clean end travels through the pipes.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }

  /**
   * From now on answers PostgreSQL cancel requests at once and keeps them, as a pooler may that
   * forwards them later, until `releaseCancels` sends them on. Answers how many are held.
   */
  holdCancels(): () => number {
    this.heldCancels = [];
    return () => this.heldCancels?.length ?? 0;
  }

  /** Sends the held cancel requests to the service, and resolves once it has closed each. */
  async releaseCancels(): Promise<void> {
    const held = this.heldCancels ?? [];
    this.heldCancels = null;
    await Promise.all(
      held.map(
        (packet) =>
          new Promise<void>((resolve) => {
            const socket = net.connect(this.targetPort, this.targetHost, () => socket.end(packet));
            socket.on('error', () => undefined);
            socket.on('close', () => resolve());
          }),
      ),
    );
  }

  private holdCancel(client: net.Socket, packet: Buffer) {
    if (!this.heldCancels) return this.relay(client, packet);
    this.heldCancels.push(packet);
    client.destroy();
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
