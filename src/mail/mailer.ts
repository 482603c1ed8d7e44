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
 * nodemailer; each SMTP step is cut at `timeoutMs` (the delivery timeout), so a send ends within its claim.
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
      try {
        await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500 && code < 600) throw new MailRefused((error as Error).message);
        throw error;
      }
    },
    close: () => transport.close(),
  };
}
