import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ProbectlError } from '../core/errors.ts';
import { classifyIndicator, type IndicatorInput } from './indicators.ts';

/**
 * Parses an indicator file: one `value[,confidence[,source]]` per line, `#`
 * comments and blank lines ignored. Any bad line rejects the whole file (the
 * previous set stays loaded), naming the line but not echoing its content.
 */
export function parseIndicatorFile(path: string): IndicatorInput[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProbectlError('PROBECTL_ERR_IOC_FILE', `cannot read indicator file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const defaultSource = basename(path);
  const out: IndicatorInput[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const content = line.replace(/#.*$/, '').trim();
    if (content === '') return;
    const [value = '', confidenceText, source, extra] = content.split(',').map((p) => p.trim());
    const problem = (why: string) => new ProbectlError('PROBECTL_ERR_IOC_FILE', `${path} line ${index + 1}: ${why}`);
    if (extra !== undefined) throw problem('too many fields (expected value[,confidence[,source]])');
    if (!classifyIndicator(value)) throw problem('not an IP address, CIDR or domain');
    let confidence = 50;
    if (confidenceText !== undefined && confidenceText !== '') {
      if (!/^\d{1,3}$/.test(confidenceText) || Number(confidenceText) > 100) throw problem('confidence must be an integer from 0 to 100');
      confidence = Number(confidenceText);
    }
    out.push({ value, confidence, source: source || defaultSource });
  });
  return out;
}
