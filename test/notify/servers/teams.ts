/**
 * Microsoft Teams stand-in: a Workflows (Power Automate) flow whose trigger is
 * "When a Teams webhook request is received" and which posts the card it gets
 * to a channel.
 *
 * Followed:
 * - "Create and send messages" (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using):
 *   Office 365 / Microsoft 365 connectors are retired; "Workflows support
 *   Adaptive Cards only. It doesn't support the older message card format";
 *   the body is `{"type":"message","attachments":[{"contentType":
 *   "application/vnd.microsoft.card.adaptive","contentUrl":null,"content":
 *   {AdaptiveCard}}]}` (MicrosoftDocs/msteams-docs add-incoming-webhook.md);
 * - the trigger URL (caronc/apprise#1316 and Microsoft's samples):
 *   `https://prod-NN.<region>.logic.azure.com:443/workflows/<id>/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=<signature>`
 *   or the newer `…/powerautomate/automations/direct/workflows/<id>/triggers/manual/paths/invoke?api-version=1&sp=…&sv=1.0&sig=…`;
 *   the `sig` is the credential. The trigger answers 202 Accepted with no body;
 * - Logic Apps error envelope `{"error":{"code","message"}}`: 401
 *   DirectApiAuthorizationRequired without a signature, 401
 *   DirectApiInvalidAuthorizationSignature for a wrong one, 404
 *   WorkflowNotFound, 400 TriggerInputSchemaMismatch;
 * - Adaptive Card schema 1.5 (https://adaptivecards.io/explorer/, the version
 *   Teams renders): `type: "AdaptiveCard"`, `version`, `body` elements and
 *   `actions` of the documented types, TextBlock.text required,
 *   Action.OpenUrl.url required; Teams messages are limited to about 28 KB.
 * Stand-in choices: the real flow accepts any JSON with 202 and fails later,
 * asynchronously, when the "Post card" step cannot render it; this stand-in
 * refuses such bodies synchronously with 400 TriggerInputSchemaMismatch (a
 * MessageCard, a bare `{text}`, a non-Adaptive attachment, an invalid card) so
 * a wrong request fails in the test. `runs` records every accepted card.
 */
import { hex, isRecord, jsonBody, StandIn, type VendorReply, type VendorRequest } from './harness.ts';

export interface TeamsCard {
  at: string;
  /** The AdaptiveCard object of each attachment. */
  cards: Record<string, unknown>[];
}

export interface TeamsOptions {
  /** The expected signature; default random. */
  sig?: string;
  /** Use the newer powerplatform.com path layout. */
  powerPlatformPath?: boolean;
}

const ELEMENTS = new Set(['TextBlock', 'Image', 'Media', 'RichTextBlock', 'ActionSet', 'Container', 'ColumnSet', 'FactSet', 'ImageSet', 'Table', 'Input.Text', 'Input.Number', 'Input.Date', 'Input.Time', 'Input.Toggle', 'Input.ChoiceSet']);
const ACTIONS = new Set(['Action.OpenUrl', 'Action.Submit', 'Action.ShowCard', 'Action.ToggleVisibility', 'Action.Execute']);
const MAX_BYTES = 28 * 1024;

function azureError(status: number, code: string, message: string): VendorReply {
  return { status, body: { error: { code, message } } };
}
function schemaMismatch(detail: string): VendorReply {
  return azureError(400, 'TriggerInputSchemaMismatch', `The input body for trigger 'manual' of type 'Request' did not match its schema definition. Error details: '${detail}'.`);
}

export class Teams {
  readonly server: StandIn;
  readonly sig: string;
  readonly workflowId = hex(16);
  readonly runs: TeamsCard[] = [];
  private readonly powerPlatform: boolean;

  private constructor(server: StandIn, opts: TeamsOptions) {
    this.server = server;
    this.sig = opts.sig ?? Buffer.from(hex(32), 'hex').toString('base64url');
    this.powerPlatform = opts.powerPlatformPath ?? false;
  }

  static async start(opts: TeamsOptions = {}): Promise<Teams> {
    let teams: Teams | undefined;
    const server = await StandIn.start({
      name: 'teams',
      handle: (req) => teams!.handle(req),
      errorReply: (status) => status === 429
        ? azureError(429, 'WorkflowRequestsThrottled', 'Number of requests exceeded the limit. Please retry after some time.')
        : azureError(status, 'ServiceUnavailable', 'The server did not respond within the expected time.'),
    });
    teams = new Teams(server, opts);
    return teams;
  }

  private get triggerPath(): string {
    return this.powerPlatform
      ? `/powerautomate/automations/direct/workflows/${this.workflowId}/triggers/manual/paths/invoke`
      : `/workflows/${this.workflowId}/triggers/manual/paths/invoke`;
  }
  /** The trigger URL without `sig` (what probectl gets when the signature lives in a secret store). */
  get urlWithoutSig(): string {
    return `${this.server.url}${this.triggerPath}?api-version=${this.powerPlatform ? '1' : '2016-06-01'}&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0`;
  }
  /** The complete trigger URL — a credential. */
  get url(): string {
    return `${this.urlWithoutSig}&sig=${encodeURIComponent(this.sig)}`;
  }
  /** Every AdaptiveCard posted, in order. */
  get cards(): Record<string, unknown>[] {
    return this.runs.flatMap((r) => r.cards);
  }
  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: VendorRequest): VendorReply {
    const m = /^(?:\/powerautomate\/automations\/direct)?\/workflows\/([^/]+)\/triggers\/manual\/paths\/invoke$/.exec(req.path);
    if (!m || m[1] !== this.workflowId) return azureError(404, 'WorkflowNotFound', `The workflow '${m?.[1] ?? ''}' could not be found.`);
    if (!req.query.get('api-version')) return azureError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    const sig = req.query.get('sig');
    if (sig === null || req.query.get('sp') === null || req.query.get('sv') === null) {
      return azureError(401, 'DirectApiAuthorizationRequired', 'The request must be authenticated only by Shared Access scheme.');
    }
    if (sig !== this.sig || req.query.get('sp') !== '/triggers/manual/run' || req.query.get('sv') !== '1.0') {
      return azureError(401, 'DirectApiInvalidAuthorizationSignature', 'The provided authorization signature is not valid.');
    }
    if (req.headers.authorization !== undefined) return azureError(400, 'DirectApiRequestHasMoreThanOneAuthorization', "The request has SAS authentication scheme and 'Authorization' header. Only one scheme should be used.");
    if (req.method !== 'POST') return azureError(405, 'TriggerRequestMethodNotValid', `The HTTP method for this request is not valid: expected 'Post' and actual '${req.method}'.`);
    if (req.raw.length > MAX_BYTES) return azureError(413, 'MessageSizeExceeded', `The message is larger than the ${MAX_BYTES} bytes Teams accepts.`);
    if (req.contentType !== 'application/json') return schemaMismatch('Invalid type. Expected Object but got String');
    const body = jsonBody(req);
    if (!isRecord(body)) return schemaMismatch('Invalid type. Expected Object');
    if (body['@type'] === 'MessageCard' || body['@context'] !== undefined) return schemaMismatch('MessageCard (Office 365 connector card) is not supported; Workflows accept Adaptive Cards only');
    if (body.type !== 'message') return schemaMismatch(`Required property 'type' with value 'message' not found. Path ''`);
    if (!Array.isArray(body.attachments) || body.attachments.length === 0) return schemaMismatch(`Required property 'attachments' not found or empty. Path ''`);
    const cards: Record<string, unknown>[] = [];
    for (const [i, a] of body.attachments.entries()) {
      if (!isRecord(a) || a.contentType !== 'application/vnd.microsoft.card.adaptive') return schemaMismatch(`attachments[${i}].contentType must be 'application/vnd.microsoft.card.adaptive'`);
      const problem = cardProblem(a.content, `attachments[${i}].content`);
      if (problem) return schemaMismatch(problem);
      cards.push(a.content as Record<string, unknown>);
    }
    this.runs.push({ at: new Date().toISOString(), cards });
    return { status: 202, headers: { 'x-ms-workflow-run-id': hex(12), 'x-ms-workflow-version': hex(8) } };
  }
}

function version(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const m = /^1\.(\d)$/.exec(v);
  return m !== null && Number(m[1]) <= 5;
}

/** Why a value is not a renderable AdaptiveCard (Teams: schema ≤ 1.5), or undefined. */
export function cardProblem(card: unknown, path = 'content'): string | undefined {
  if (!isRecord(card)) return `${path} must be an AdaptiveCard object`;
  if (card.type !== 'AdaptiveCard') return `${path}.type must be 'AdaptiveCard'`;
  if (!version(card.version)) return `${path}.version must be a string "1.0"–"1.5"`;
  if (card.body !== undefined && !Array.isArray(card.body)) return `${path}.body must be an array`;
  if (card.actions !== undefined && !Array.isArray(card.actions)) return `${path}.actions must be an array`;
  if ((card.body as unknown[] | undefined ?? []).length === 0 && (card.actions as unknown[] | undefined ?? []).length === 0) return `${path} has neither body nor actions`;
  return elementsProblem(card.body, `${path}.body`) ?? actionsProblem(card.actions, `${path}.actions`);
}

function elementsProblem(list: unknown, path: string): string | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) return `${path} must be an array`;
  for (const [i, e] of list.entries()) {
    const p = `${path}[${i}]`;
    if (!isRecord(e) || typeof e.type !== 'string' || !ELEMENTS.has(e.type)) return `${p}.type is not an Adaptive Card element type`;
    switch (e.type) {
      case 'TextBlock':
        if (typeof e.text !== 'string') return `${p}.text is required`;
        break;
      case 'Image':
        if (typeof e.url !== 'string') return `${p}.url is required`;
        break;
      case 'FactSet':
        if (!Array.isArray(e.facts) || !e.facts.every((f) => isRecord(f) && typeof f.title === 'string' && typeof f.value === 'string')) return `${p}.facts must be [{title, value}] strings`;
        break;
      case 'Container': {
        const q = elementsProblem(e.items ?? [], `${p}.items`);
        if (q) return q;
        break;
      }
      case 'ColumnSet':
        if (e.columns !== undefined) {
          if (!Array.isArray(e.columns)) return `${p}.columns must be an array`;
          for (const [j, c] of e.columns.entries()) {
            if (!isRecord(c) || (c.type !== undefined && c.type !== 'Column')) return `${p}.columns[${j}].type must be 'Column'`;
            const q = elementsProblem(c.items ?? [], `${p}.columns[${j}].items`);
            if (q) return q;
          }
        }
        break;
      case 'ActionSet': {
        const q = actionsProblem(e.actions, `${p}.actions`);
        if (q) return q;
        break;
      }
      case 'RichTextBlock':
        if (!Array.isArray(e.inlines)) return `${p}.inlines is required`;
        break;
      default:
        break;
    }
  }
  return undefined;
}

function actionsProblem(list: unknown, path: string): string | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) return `${path} must be an array`;
  for (const [i, a] of list.entries()) {
    const p = `${path}[${i}]`;
    if (!isRecord(a) || typeof a.type !== 'string' || !ACTIONS.has(a.type)) return `${p}.type is not an Adaptive Card action type`;
    if (a.type === 'Action.OpenUrl' && typeof a.url !== 'string') return `${p}.url is required`;
    if (a.type === 'Action.ShowCard') {
      const q = cardProblem(a.card, `${p}.card`);
      if (q) return q;
    }
  }
  return undefined;
}
