import nodemailer from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends one message; throws MailRefused when the server refuses it for good (a 5xx answer). */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** The SMTP server refused the message for good: retrying cannot help (a bad address, say). */
export class MailRefused extends Error {}

/**
 * A mailer over SMTP_URL (smtp:// with STARTTLS when offered, smtps:// for TLS from the start), through
 * nodemailer. nodemailer cuts each SMTP step at `timeoutMs` (the delivery timeout), and a message
 * takes several (greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), so the send as a whole is cut
 * there too: it then counts as failed and is tried again, and it ends within its claim, which no
 * other process takes over meanwhile. A server that was only slow may still deliver the message
 * then, so a person may get it twice (at least once, as webhooks).
 */
export function smtpMailer(smtpUrl: string, from: string, timeoutMs: number): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async send(message) {
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`The SMTP server did not take the message within ${timeoutMs} ms.`)), timeoutMs);
      });
      try {
        await Promise.race([transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text }), cut]);
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500 && code < 600) throw new MailRefused((error as Error).message);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => transport.close(),
  };
}
