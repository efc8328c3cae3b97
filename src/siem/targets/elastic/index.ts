import { optStr } from '../../../config/vars.ts';
import { httpsSender, tokenAuthorization } from '../shared/http.ts';
import { problem, type TargetProvider, type TargetSettings } from '../provider.ts';
import { elasticTarget } from './target.ts';

export interface ElasticSettings extends TargetSettings {
  readonly kind: 'elastic-bulk';
  /** The index or data stream: from the `_bulk` URL's path, else PROBECTL_SIEM_ELASTIC_INDEX. */
  readonly index: string | undefined;
  readonly indexInPath: boolean;
}

const vars = {
  elasticIndex: optStr('PROBECTL_SIEM_ELASTIC_INDEX', { pattern: /^[a-z0-9][a-z0-9._-]{0,254}$/, accepts: 'a lower-case index or data stream name', doc: 'Target index or data stream for `_bulk` when the endpoint path does not name one (`/<index>/_bulk`).' }),
};

/** Elasticsearch `_bulk` with `create` actions keyed by the event id. */
export const elastic: TargetProvider<ElasticSettings> = {
  name: 'elastic',
  serves: 'https',
  preset: { name: 'elastic', authScheme: 'ApiKey', defaultFormat: 'ecs', syslogFormat: 'syslog', tokenRequired: true, examples: ['https://elastic.example:9200/probectl-events/_bulk'], summary: '`Authorization: ApiKey`, ecs' },
  vars,
  configure({ url, format: chosen, preset, vars: v, problems }) {
    const format = chosen ?? preset.defaultFormat;
    const m = /^(?:\/([^/]+))?\/_bulk\/?$/.exec(url.pathname);
    if (!m) problems.push(problem('PROBECTL_SIEM_ENDPOINT', 'an Elasticsearch endpoint must be a _bulk URL', 'https://es:9200/<index>/_bulk or https://es:9200/_bulk with PROBECTL_SIEM_ELASTIC_INDEX'));
    const elasticIndex = v.elasticIndex as string | undefined;
    if (m && !m[1] && !elasticIndex) problems.push(problem('PROBECTL_SIEM_ELASTIC_INDEX', 'required when the _bulk URL names no index', 'an index or data stream name'));
    if (format !== 'ecs') problems.push(problem('PROBECTL_SIEM_FORMAT', `_bulk takes JSON documents; ${format} is not one`, 'ecs with the elastic preset'));
    if (!m) return undefined;
    return { kind: 'elastic-bulk', provider: 'elastic', format, index: m[1] ? decodeURIComponent(m[1]) : elasticIndex, indexInPath: m[1] !== undefined };
  },
  build(settings, target, ctx) {
    const sender = httpsSender(settings, ctx, tokenAuthorization(settings, ctx));
    return elasticTarget({ sender, formatOptions: ctx.formatOptions, timeoutMs: settings.timeoutMs }, ctx.formatter, target.index, target.indexInPath);
  },
  describe: (settings) => `preset ${settings.preset}, Authorization: ApiKey <token>`,
};
