import { httpsSender, tokenAuthorization } from '../shared/http.ts';
import type { TargetProvider, TargetSettings } from '../provider.ts';
import { genericTarget } from './target.ts';

export interface GenericSettings extends TargetSettings {
  readonly kind: 'post';
}

/** Any HTTPS receiver: one POST of the format's batch body, `Authorization: Bearer <token>` when a token is set. */
export const generic: TargetProvider<GenericSettings> = {
  name: 'generic',
  serves: 'https',
  preset: { name: 'generic', authScheme: 'Bearer', defaultFormat: 'cef', syslogFormat: 'syslog', tokenRequired: false, examples: ['https://siem.example/ingest'], summary: 'Bearer if a token is set, cef' },
  vars: {},
  configure({ format: chosen, preset }) {
    return { kind: 'post', provider: 'generic', format: chosen ?? preset.defaultFormat };
  },
  build(settings, _target, ctx) {
    const sender = httpsSender(settings, ctx, tokenAuthorization(settings, ctx));
    return genericTarget({ sender, formatOptions: ctx.formatOptions, timeoutMs: settings.timeoutMs }, ctx.formatter);
  },
  describe: (settings) => `preset ${settings.preset}, Authorization: Bearer <token>`,
};
