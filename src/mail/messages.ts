import type { ExportSession } from '../contract/schemas.js';
import type { QueuedMail } from '../events/mail-kinds.js';
import type { MailMessage } from './mailer.js';

export type MailLanguage = 'en' | 'ko';

interface MailContext {
  recipientName: string;
  organizationName: string;
  publicUrl: string;
  /** The session as the change left it (session mails). */
  session: ExportSession | null;
}

function meeting(session: ExportSession): string {
  return session.meetingDate ? session.meetingDate.slice(0, 10) : '—';
}

const sessionLink = (c: MailContext) => `${c.publicUrl}/sessions/${c.session?._id ?? ''}`;
/** The session's form name and meeting day, as the mails name it. */
const about = (c: MailContext, meetingWord: string) =>
  `"${c.session?.coachingFormName}" (${meetingWord} ${c.session ? meeting(c.session) : '—'})`;
const settingsLink = (c: MailContext) => `${c.publicUrl}/me`;

type Texts = Record<QueuedMail['kind'], (mail: QueuedMail, c: MailContext) => { subject: string; text: string }>;

const english: Texts = {
  invite: (mail, c) => ({
    subject: `You are invited to ${c.organizationName} on Coachport`,
    text: [
      `Hello ${c.recipientName},`,
      '',
      `${(mail.kind === 'invite' && mail.inviterName) || 'An administrator'} invited you to ${c.organizationName} on Coachport.`,
      'Set your password with this link. It works once, for 7 days:',
      mail.kind === 'invite' ? mail.link : '',
      '',
      'If you did not expect this invitation, you can ignore this mail.',
    ].join('\n'),
  }),
  session_shared: (_mail, c) => ({
    subject: `${c.session?.coachName} shared a coaching session with you`,
    text: [
      `Hello ${c.recipientName},`,
      '',
      `${c.session?.coachName} shared the coaching session ${about(c, 'meeting')} with you.`,
      'Read it and confirm it here:',
      sessionLink(c),
      '',
      `You get this mail because you are the agent of this session. To stop these mails, turn off email notifications: ${settingsLink(c)}`,
    ].join('\n'),
  }),
  agent_confirmed: (_mail, c) => ({
    subject: `${c.session?.agentName} confirmed the coaching session`,
    text: [
      `Hello ${c.recipientName},`,
      '',
      `${c.session?.agentName} confirmed the coaching session ${about(c, 'meeting')}.`,
      'Open the session:',
      sessionLink(c),
      '',
      `You get this mail because you are the coach of this session. To stop these mails, turn off email notifications: ${settingsLink(c)}`,
    ].join('\n'),
  }),
};

const korean: Texts = {
  invite: (mail, c) => ({
    subject: `Coachport ${c.organizationName}에 초대되었습니다`,
    text: [
      `${c.recipientName}님, 안녕하세요.`,
      '',
      `${mail.kind === 'invite' && mail.inviterName ? `${mail.inviterName}님이` : '관리자가'} Coachport의 ${c.organizationName}에 초대했습니다.`,
      '아래 링크에서 비밀번호를 설정하세요. 링크는 7일 동안 한 번만 사용할 수 있습니다.',
      mail.kind === 'invite' ? mail.link : '',
      '',
      '초대를 예상하지 못했다면 이 메일은 무시하셔도 됩니다.',
    ].join('\n'),
  }),
  session_shared: (_mail, c) => ({
    subject: `${c.session?.coachName}님이 코칭 세션을 공유했습니다`,
    text: [
      `${c.recipientName}님, 안녕하세요.`,
      '',
      `${c.session?.coachName}님이 코칭 세션 ${about(c, '미팅')}을 공유했습니다.`,
      '아래 링크에서 세션을 읽고 [세션 확인]을 눌러 주세요.',
      sessionLink(c),
      '',
      `이 세션의 상담원이므로 이 메일을 받았습니다. 메일 알림을 끄려면: ${settingsLink(c)}`,
    ].join('\n'),
  }),
  agent_confirmed: (_mail, c) => ({
    subject: `${c.session?.agentName}님이 코칭 세션을 확인했습니다`,
    text: [
      `${c.recipientName}님, 안녕하세요.`,
      '',
      `${c.session?.agentName}님이 코칭 세션 ${about(c, '미팅')}을 확인했습니다.`,
      '세션 열기:',
      sessionLink(c),
      '',
      `이 세션의 코치이므로 이 메일을 받았습니다. 메일 알림을 끄려면: ${settingsLink(c)}`,
    ].join('\n'),
  }),
};

/** The mail in the recipient's console language (English when they never chose one). */
export function composeMail(mail: QueuedMail, to: string, language: string | null, context: MailContext): MailMessage {
  const texts = language === 'ko' ? korean : english;
  return { to, ...texts[mail.kind](mail, context) };
}
