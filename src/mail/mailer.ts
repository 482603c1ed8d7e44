import nodemailer from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends one message; throws MailRefused when the server refuses it for good (a 5xx answer). */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  /** Whether a send cut at the timeout is still talking to the server: no more mail is started meanwhile. */
  busy(): boolean;
  close(): void;
}

/** The SMTP server refused the message for good: retrying cannot help (a bad address, say). */
export class MailRefused extends Error {}

/**
 * A mailer over SMTP_URL (smtp:// with STARTTLS when offered, smtps:// for TLS from the start), through
 * nodemailer. nodemailer cuts each SMTP step at `timeoutMs` (the delivery timeout), and a message
 * takes several (greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), so the send as a whole is cut
 * there too: it then counts as failed and is tried again, and it ends within its claim, which no
 * other process takes over meanwhile. nodemailer cannot abandon a message under way, so the
 * connection goes on until the server answers or a step times out: the mailer is `busy` until then,
 * and no more mail is claimed, rather than opening new connections to a server already struggling.
 * A server that was only slow may still deliver it, so a person may get it twice (at least once, as webhooks).
 */
export function smtpMailer(smtpUrl: string, from: string, timeoutMs: number): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  let lingering = 0;
  return {
    async send(message) {
      const sending = transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          lingering++;
          void sending.then(undefined, () => undefined).finally(() => lingering--);
          reject(new Error(`The SMTP server did not take the message within ${timeoutMs} ms.`));
        }, timeoutMs);
      });
      try {
        await Promise.race([sending, cut]);
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500 && code < 600) throw new MailRefused((error as Error).message);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    busy: () => lingering > 0,
    close: () => transport.close(),
  };
}
