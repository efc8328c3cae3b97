/** The incident key every vendor carries (`probectl-<incident uuid>`): PagerDuty dedup_key, Opsgenie alias, ServiceNow correlation_id, Jira label, webhook key. */
export const INCIDENT_KEY_PREFIX = 'probectl-';

const KEY = /^probectl-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function incidentKey(incidentId: string): string {
  return `${INCIDENT_KEY_PREFIX}${incidentId}`;
}

/** The incident id a key names, or undefined when the text is not an incident key. */
export function incidentIdOfKey(text: string): string | undefined {
  return KEY.exec(text)?.[1];
}
