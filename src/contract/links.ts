/**
 * A to-do's link (SPEC §12) is an absolute http: or https: URL: anything else (`javascript:`,
 * `data:`, a relative path) could run or show something in the reader's browser. Shared by the
 * server, the importer and the console, which never renders any other link as one.
 */
export function isWebLink(value: string): boolean {
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    return false; // relative, or not a URL at all
  }
  return protocol === 'http:' || protocol === 'https:';
}

export const WEB_LINK_RULE = 'an absolute http: or https: URL';
