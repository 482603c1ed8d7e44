import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server on a loopback port that keeps each message as a mail client reads it (mailparser). */
export class SmtpSink {
  readonly messages: ParsedMail[] = [];
  private server: SMTPServer | null = null;
  port = 0;

  constructor(
    private readonly credentials = { user: 'coachport', pass: 'mail-secret' },
    /** How long the server takes to answer MAIL FROM, RCPT TO and the message each (a slow server). */
    private readonly stepDelayMs = 0,
  ) {}

  get url(): string {
    return `smtp://${this.credentials.user}:${this.credentials.pass}@127.0.0.1:${this.port}`;
  }

  /** Listens (again, on the same port after a stop: the server "comes back"). */
  async start(): Promise<this> {
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth: (auth, _session, callback) => {
        if (auth.username === this.credentials.user && auth.password === this.credentials.pass) callback(null, { user: auth.username });
        else callback(new Error('Invalid username or password'));
      },
      onMailFrom: (_address, _session, callback) => void setTimeout(callback, this.stepDelayMs),
      onRcptTo: (_address, _session, callback) => void setTimeout(callback, this.stepDelayMs),
      onData: (stream, _session, callback) => {
        simpleParser(stream).then(
          (mail) => {
            this.messages.push(mail);
            setTimeout(callback, this.stepDelayMs);
          },
          (error: Error) => callback(error),
        );
      },
      logger: false,
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Messages to one address. */
  to(address: string): ParsedMail[] {
    return this.messages.filter((m) => m.to && !Array.isArray(m.to) && m.to.value.some((v) => v.address === address));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
