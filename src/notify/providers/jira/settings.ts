import type { OptionSpec } from '../types.ts';

/**
 * The Jira connector's endpoint and options (docs/oncall.md): the endpoint is
 * the create-issue URL, `<base>/rest/api/2/issue` (Cloud v2, Data Center) or
 * `<base>/rest/api/3/issue` (Cloud v3, Atlassian Document Format); the path
 * chooses the API version and the description format.
 */

export interface JiraEndpoint {
  /** Everything before /rest/api (a Data Center context path included), without a trailing slash. */
  readonly base: string;
  readonly api: 2 | 3;
}

const ISSUE_PATH = /^(.*?)\/rest\/api\/(2|3)\/issue\/?$/;

export function jiraEndpoint(url: URL): JiraEndpoint | undefined {
  const m = ISSUE_PATH.exec(url.pathname);
  if (!m) return undefined;
  return { base: `${url.protocol}//${url.host}${m[1] as string}`, api: Number(m[2]) as 2 | 3 };
}

const PROJECT = /^(?:[A-Za-z][A-Za-z0-9_]{0,254}|\d{1,18})$/;
const LABEL = /^[^\s,]{1,255}$/;

function printable(value: string, what: string, max = 255): string {
  if (value === '' || [...value].length > max || /[\u0000-\u001f\u007f]/.test(value)) throw new Error(`${what} must be 1 to ${max} printable characters`);
  return value;
}

export const JIRA_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'project', accepts: 'a project key (OPS) or numeric id',
    parse: (v) => {
      if (!PROJECT.test(v)) throw new Error('not a project key or id');
      return v;
    },
  },
  { name: 'issuetype', accepts: 'an issue type name (default Task) or numeric id', parse: (v) => printable(v, 'the issue type') },
  { name: 'resolve_transition', accepts: 'a transition id (31) or name (Done)', parse: (v) => printable(v, 'the transition') },
  {
    name: 'labels', accepts: 'comma-separated labels without spaces',
    parse: (v) => {
      const labels = v.split(',').map((l) => l.trim()).filter((l) => l !== '');
      if (labels.length === 0 || labels.length > 20 || !labels.every((l) => LABEL.test(l))) throw new Error('labels must be 1 to 20 comma-separated words without spaces');
      return labels.join(',');
    },
  },
  {
    name: 'deployment', accepts: 'cloud or datacenter (default: cloud for *.atlassian.net and API v3, otherwise found out on first search)',
    parse: (v) => {
      if (v !== 'cloud' && v !== 'datacenter') throw new Error('not cloud or datacenter');
      return v;
    },
  },
];

/** Startup checks beyond the options' own: the endpoint path, the project, the secret. */
export function validateJira(url: URL, options: Readonly<Record<string, string>>, secretGiven: boolean): string[] {
  const problems: string[] = [];
  const ep = jiraEndpoint(url);
  if (!ep) problems.push('the endpoint must be the create-issue URL, <base>/rest/api/2/issue or <base>/rest/api/3/issue');
  if (options.project === undefined) problems.push('option project is required (e.g. ?project=OPS)');
  if (ep?.api === 3 && options.deployment === 'datacenter') problems.push('Data Center has no /rest/api/3; use /rest/api/2/issue');
  if (!secretGiven) problems.push('needs the credential as the secret: <email>:<api-token> (Cloud), <user>:<password> or a personal access token (Data Center)');
  return problems;
}
