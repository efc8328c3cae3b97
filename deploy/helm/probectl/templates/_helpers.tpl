{{/* Names and labels. */}}
{{- define "probectl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "probectl.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "probectl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "probectl.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "probectl.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
{{ include "probectl.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- end -}}

{{- define "probectl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "probectl.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "probectl.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "probectl.credentialsSecret" -}}{{ include "probectl.fullname" . }}-credentials{{- end -}}
{{- define "probectl.tlsSecret" -}}
{{- if .Values.tls.existingSecret -}}{{ .Values.tls.existingSecret }}{{- else -}}{{ include "probectl.fullname" . }}-tls{{- end -}}
{{- end -}}

{{/* More than one replica can run: topology spread and the PDB's meaning depend on it. */}}
{{- define "probectl.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{/*
Credential variables: exactly the variables docs/configuration.md marks 🔒 (PROBECTL_DEVICE_CRED_*
by prefix, below). test/deploy/secret-variables.deploy.ts fails when this list and the docs differ.
In `config` they are accepted only as secret references; their literal values go through Secrets
(secretKeyRef).
*/}}
{{- define "probectl.secretVariables" -}}
{{- list "PROBECTL_DATABASE_URL" "PROBECTL_DATABASE_PASSWORD" "PROBECTL_ENCRYPTION_KEY" "PROBECTL_ENCRYPTION_KEY_PREVIOUS" "PROBECTL_SECRETS_VAULT_TOKEN" "PROBECTL_SECRETS_VAULT_ROLE_ID" "PROBECTL_SECRETS_VAULT_SECRET_ID" "PROBECTL_SECRETS_CONJUR_API_KEY" "PROBECTL_TLS_CERT" "PROBECTL_TLS_KEY" "PROBECTL_SIEM_TOKEN" "PROBECTL_SIEM_WEBHOOK_SECRET" "PROBECTL_NOTIFY_CONNECTORS" "PROBECTL_NOTIFY_INBOUND" "PROBECTL_METRICS_UPSTREAM_TOKEN" "PROBECTL_CMDB_SECRET" | toJson -}}
{{- end -}}

{{/* Variables the chart sets itself; `config` and `secretEnv` may not set them. */}}
{{- define "probectl.reservedVariables" -}}
{{- list "PROBECTL_LISTEN" "PROBECTL_DATA_DIR" "PROBECTL_TLS_CERT_FILE" "PROBECTL_TLS_KEY_FILE" "PROBECTL_TLS_CERT" "PROBECTL_TLS_KEY" "PROBECTL_ALLOW_PLAINTEXT_HTTP" "PROBECTL_DATABASE_URL" "PROBECTL_DATABASE_PASSWORD" "PROBECTL_DATABASE_CA_FILE" "PROBECTL_DATABASE_POOL_SIZE" "PROBECTL_ENCRYPTION_KEY" "PROBECTL_ENCRYPTION_KEY_PREVIOUS" "PROBECTL_SIEM_INFLIGHT" "PROBECTL_SIEM_BUFFER_EVENTS" "PROBECTL_NOTIFY_CONCURRENCY" "PROBECTL_NOTIFY_BUFFER_OPERATIONS" "PROBECTL_METRICS_MAX_CONCURRENT_QUERIES" | toJson -}}
{{- end -}}

{{/* "true" when the value is a secret reference probectl resolves at use time (docs/secrets.md). */}}
{{- define "probectl.isRef" -}}
{{- if regexMatch "^(env|vault|aws|azure|gcp|cyberark):.+" (toString .) -}}true{{- end -}}
{{- end -}}

{{/*
Why a credential is a placeholder ("" when it is not): the well-known defaults, and the values
file's own examples (hosts under example.*, REPLACE_ME, .../example#...).
*/}}
{{- define "probectl.placeholder" -}}
{{- $v := lower (toString .) -}}
{{- $exact := list "changeme" "change-me" "change_me" "password" "passw0rd" "secret" "admin" "postgres" "probectl" "default" "test" "xxx" "todo" "placeholder" -}}
{{- $contains := list "changeme" "change-me" "change_me" "replace_me" "replace-me" "replaceme" "example.com" "example.org" "example.net" "example.internal" "/example#" "<" ">" -}}
{{- $found := "" -}}
{{- if has $v $exact -}}{{- $found = printf "the placeholder %q" $v -}}{{- end -}}
{{- range $contains -}}{{- if and (not $found) (contains . $v) -}}{{- $found = printf "a placeholder (%q)" . -}}{{- end -}}{{- end -}}
{{- if and (not $found) (regexMatch "^postgres(ql)?://[^:/@]*:[^@/]*@" $v) -}}
{{- $pw := regexReplaceAll "^postgres(?:ql)?://[^:/@]*:([^@/]*)@.*$" $v "${1}" -}}
{{- if has $pw $exact -}}{{- $found = printf "the placeholder password %q" $pw -}}{{- end -}}
{{- end -}}
{{- $found -}}
{{- end -}}

{{/*
Problems with an inline encryption key ("" when it is fine), the product's rule
(encryptionKeyProblem in src/core/envelope.ts): base64 of exactly 32 bytes, not every byte the same.
*/}}
{{- define "probectl.keyProblem" -}}
{{- $k := trim (toString .) -}}
{{- if include "probectl.isRef" $k -}}
{{- else if not (and (regexMatch "^[A-Za-z0-9+/]+={0,2}$" $k) (eq (mod (len $k) 4) 0)) -}}not base64 (expected the output of `openssl rand -base64 32`)
{{- else if ne (len (b64dec $k)) 32 -}}{{ len (b64dec $k) }} bytes once decoded, not 32
{{- else if eq (b64dec $k) (repeat 32 (substr 0 1 (b64dec $k))) -}}a placeholder (every byte the same), not a random key
{{- end -}}
{{- end -}}

{{/* "true" when a label selector selects nothing in particular (no matchLabels, no matchExpressions): as a peer it matches everything. */}}
{{- define "probectl.selectorEmpty" -}}
{{- if not (or (get (default (dict) .) "matchLabels") (get (default (dict) .) "matchExpressions")) -}}true{{- end -}}
{{- end -}}

{{/*
Every check that stops rendering, each with what to set. Called by every template that needs a
credential, so `helm template`, `helm install` and GitOps controllers all refuse the same way.
*/}}
{{- define "probectl.validate" -}}
{{- $v := .Values -}}
{{- $db := $v.database -}}
{{- if and $db.existingSecret $db.passwordKey $db.password -}}
{{- fail "probectl: set database.passwordKey (in database.existingSecret) or database.password, not both" -}}
{{- end -}}
{{- if and $db.existingSecret $db.url -}}
{{- fail "probectl: set database.existingSecret or database.url, not both" -}}
{{- end -}}
{{- if not (or $db.existingSecret $db.url) -}}
{{- fail "probectl: no database credentials: set database.existingSecret (a Secret with the PostgreSQL URL under database.urlKey) or database.url (a postgres:// URL or a secret reference such as vault:kv/probectl/db#url)" -}}
{{- end -}}
{{- range $name, $value := dict "database.url" $db.url "database.password" $db.password -}}
{{- if $value -}}
{{- $p := include "probectl.placeholder" $value -}}
{{- if $p -}}
{{- fail (printf "probectl: %s is %s: set it to the real credential (or use database.existingSecret)" $name $p) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $db.url (not (include "probectl.isRef" $db.url)) (not (regexMatch "^postgres(ql)?://" $db.url)) -}}
{{- fail "probectl: database.url must be a postgres:// URL or a secret reference (vault:, aws:, azure:, gcp:, cyberark:, env:)" -}}
{{- end -}}
{{- $enc := $v.encryption -}}
{{- if and $enc.existingSecret $enc.key -}}
{{- fail "probectl: set encryption.existingSecret or encryption.key, not both" -}}
{{- end -}}
{{- if not (or $enc.existingSecret $enc.key) -}}
{{- fail "probectl: no encryption key: set encryption.existingSecret (a Secret with PROBECTL_ENCRYPTION_KEY under encryption.secretKey) or encryption.key (32 random bytes, base64: openssl rand -base64 32)" -}}
{{- end -}}
{{- range $name, $value := dict "encryption.key" $enc.key "encryption.previousKey" $enc.previousKey -}}
{{- if $value -}}
{{- $p := include "probectl.placeholder" $value -}}
{{- if $p -}}
{{- fail (printf "probectl: %s is %s: set 32 random bytes, base64 (openssl rand -base64 32), or use encryption.existingSecret" $name $p) -}}
{{- end -}}
{{- $k := include "probectl.keyProblem" $value -}}
{{- if $k -}}
{{- fail (printf "probectl: %s is %s: set 32 random bytes, base64 (openssl rand -base64 32), or use encryption.existingSecret" $name $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $enc.previousKey $enc.previousSecretKey -}}
{{- fail "probectl: set encryption.previousSecretKey or encryption.previousKey, not both" -}}
{{- end -}}
{{- if and $enc.previousSecretKey (not $enc.existingSecret) -}}
{{- fail "probectl: encryption.previousSecretKey names a key of encryption.existingSecret: set encryption.existingSecret too" -}}
{{- end -}}
{{- if not (or $v.tls.existingSecret $v.tls.certManager.enabled) -}}
{{- fail "probectl: no server certificate (HTTPS only): set tls.existingSecret (a kubernetes.io/tls Secret) or tls.certManager.enabled with tls.certManager.issuerRef.name" -}}
{{- end -}}
{{- if and $v.tls.existingSecret $v.tls.certManager.enabled -}}
{{- fail "probectl: set tls.existingSecret or tls.certManager.enabled, not both" -}}
{{- end -}}
{{- if and $v.tls.certManager.enabled (not $v.tls.certManager.issuerRef.name) -}}
{{- fail "probectl: tls.certManager.enabled needs tls.certManager.issuerRef.name (an Issuer or ClusterIssuer)" -}}
{{- end -}}
{{- $dbNet := $v.networkPolicy.egress.database -}}
{{- if not (or $dbNet.cidrs $dbNet.namespaceSelector $dbNet.podSelector) -}}
{{- fail "probectl: the NetworkPolicy needs to know where PostgreSQL is: set networkPolicy.egress.database.cidrs or networkPolicy.egress.database.namespaceSelector (and podSelector)" -}}
{{- end -}}
{{- $n := $v.networkPolicy -}}
{{- range $i, $sel := $n.ingress.namespaceSelectors -}}
{{- if include "probectl.selectorEmpty" $sel -}}
{{- fail (printf "probectl: networkPolicy.ingress.namespaceSelectors[%d] is empty, which allows every namespace: give matchLabels or matchExpressions" $i) -}}
{{- end -}}
{{- end -}}
{{- range $i, $sel := $n.ingress.podSelectors -}}
{{- if include "probectl.selectorEmpty" $sel -}}
{{- fail (printf "probectl: networkPolicy.ingress.podSelectors[%d] is empty, which allows every pod of the namespace: give matchLabels or matchExpressions" $i) -}}
{{- end -}}
{{- end -}}
{{- if include "probectl.selectorEmpty" $n.egress.dns.namespaceSelector -}}
{{- fail "probectl: networkPolicy.egress.dns.namespaceSelector is empty, which allows DNS egress to every namespace: give matchLabels or matchExpressions" -}}
{{- end -}}
{{- if and $dbNet.namespaceSelector (include "probectl.selectorEmpty" $dbNet.namespaceSelector) -}}
{{- fail "probectl: networkPolicy.egress.database.namespaceSelector is empty, which allows every namespace: give matchLabels (e.g. kubernetes.io/metadata.name: <namespace>) or leave it {} with cidrs" -}}
{{- end -}}
{{- if and $dbNet.podSelector (include "probectl.selectorEmpty" $dbNet.podSelector) -}}
{{- fail "probectl: networkPolicy.egress.database.podSelector is empty: give matchLabels or matchExpressions, or leave it {}" -}}
{{- end -}}
{{- range $i, $it := $n.egress.integrations -}}
{{- $hasNs := and $it.namespaceSelector (not (include "probectl.selectorEmpty" $it.namespaceSelector)) -}}
{{- if and (hasKey $it "cidrs") (not $it.cidrs) -}}
{{- fail (printf "probectl: networkPolicy.egress.integrations[%d].cidrs is empty: list the CIDRs or drop the key" $i) -}}
{{- end -}}
{{- if and (hasKey $it "namespaceSelector") (not $hasNs) -}}
{{- fail (printf "probectl: networkPolicy.egress.integrations[%d].namespaceSelector is empty, which allows every namespace: give matchLabels or matchExpressions" $i) -}}
{{- end -}}
{{- if and $it.podSelector (include "probectl.selectorEmpty" $it.podSelector) -}}
{{- fail (printf "probectl: networkPolicy.egress.integrations[%d].podSelector is empty: give matchLabels or matchExpressions, or drop it" $i) -}}
{{- end -}}
{{- if not (or $it.cidrs $hasNs) -}}
{{- fail (printf "probectl: networkPolicy.egress.integrations[%d] has no destination (an empty `to` allows every destination): set cidrs or namespaceSelector" $i) -}}
{{- end -}}
{{- end -}}
{{- $secretVars := include "probectl.secretVariables" . | fromJsonArray -}}
{{- $reserved := include "probectl.reservedVariables" . | fromJsonArray -}}
{{- range $name, $value := $v.config -}}
{{- if has $name $reserved -}}
{{- fail (printf "probectl: config.%s is set by the chart itself: use the chart's values (database, encryption, tls, tuning) instead" $name) -}}
{{- end -}}
{{- $secret := or (has $name $secretVars) (hasPrefix "PROBECTL_DEVICE_CRED_" $name) -}}
{{- if and $secret (not (include "probectl.isRef" $value)) -}}
{{- fail (printf "probectl: config.%s holds a credential: give a secret reference (vault:, aws:, azure:, gcp:, cyberark:, env:) or move it to secretEnv (a Secret)" $name) -}}
{{- end -}}
{{- if $secret -}}
{{- $p := include "probectl.placeholder" $value -}}
{{- if $p -}}
{{- fail (printf "probectl: config.%s is %s: set the real reference" $name $p) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $v.secretEnv -}}
{{- if has .name $reserved -}}
{{- fail (printf "probectl: secretEnv %s is set by the chart itself: use database/encryption values" .name) -}}
{{- end -}}
{{- if hasKey $v.config .name -}}
{{- fail (printf "probectl: %s is in both config and secretEnv: keep one" .name) -}}
{{- end -}}
{{- end -}}
{{- if and $v.ingress.enabled (not $v.ingress.host) -}}
{{- fail "probectl: ingress.enabled needs ingress.host" -}}
{{- end -}}
{{- if and $v.ingress.enabled (eq $v.ingress.mode "reencrypt") (not $v.ingress.tlsSecretName) -}}
{{- fail "probectl: ingress.mode reencrypt needs ingress.tlsSecretName (the certificate the controller presents)" -}}
{{- end -}}
{{- if and $v.ingress.enabled (eq $v.ingress.mode "reencrypt") (not $v.ingress.backendCaSecret) -}}
{{- fail "probectl: ingress.mode reencrypt needs ingress.backendCaSecret (a Secret in the release namespace with ca.crt, the CA that signed probectl's certificate: the controller verifies probectl with it)" -}}
{{- end -}}
{{- if and $v.gateway.enabled (not $v.gateway.parentRefs) -}}
{{- fail "probectl: gateway.enabled needs gateway.parentRefs (the Gateway listener to attach to)" -}}
{{- end -}}
{{- if and $v.gateway.enabled (eq $v.gateway.mode "reencrypt") (not (and $v.gateway.backendCaConfigMap $v.gateway.backendHostname)) -}}
{{- fail "probectl: gateway.mode reencrypt needs gateway.backendCaConfigMap and gateway.backendHostname (the Gateway verifies probectl's certificate)" -}}
{{- end -}}
{{- end -}}

{{/* Non-secret configuration: the ConfigMap's data, and the migration Job's env. */}}
{{- define "probectl.configData" -}}
{{- $t := .Values.tuning -}}
PROBECTL_LISTEN: "0.0.0.0:8443"
PROBECTL_DATA_DIR: /var/lib/probectl
PROBECTL_DATABASE_POOL_SIZE: {{ $t.databasePoolSize | toString | quote }}
PROBECTL_SIEM_INFLIGHT: {{ $t.siemInflight | toString | quote }}
PROBECTL_SIEM_BUFFER_EVENTS: {{ $t.siemBufferEvents | toString | quote }}
PROBECTL_NOTIFY_CONCURRENCY: {{ $t.notifyConcurrency | toString | quote }}
PROBECTL_NOTIFY_BUFFER_OPERATIONS: {{ $t.notifyBufferOperations | toString | quote }}
PROBECTL_METRICS_MAX_CONCURRENT_QUERIES: {{ $t.metricsMaxConcurrentQueries | toString | quote }}
{{- if or .Values.database.ca.secretName .Values.database.ca.configMapName }}
PROBECTL_DATABASE_CA_FILE: {{ printf "/etc/probectl/database-ca/%s" .Values.database.ca.key | quote }}
{{- end }}
{{- range $name, $value := .Values.config }}
{{ $name | quote }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Credentials: secretKeyRef to a Secret, or a secret reference as a plain value. */}}
{{- define "probectl.secretEnv" -}}
{{- $v := .Values -}}
{{- $creds := include "probectl.credentialsSecret" . -}}
- name: PROBECTL_DATABASE_URL
{{- if $v.database.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.existingSecret | quote }}
      key: {{ $v.database.urlKey | quote }}
{{- else if include "probectl.isRef" $v.database.url }}
  value: {{ $v.database.url | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ $creds | quote }}
      key: database-url
{{- end }}
{{- if and $v.database.existingSecret $v.database.passwordKey }}
- name: PROBECTL_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.existingSecret | quote }}
      key: {{ $v.database.passwordKey | quote }}
{{- else if $v.database.password }}
- name: PROBECTL_DATABASE_PASSWORD
{{- if include "probectl.isRef" $v.database.password }}
  value: {{ $v.database.password | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ $creds | quote }}
      key: database-password
{{- end }}
{{- end }}
- name: PROBECTL_ENCRYPTION_KEY
{{- if $v.encryption.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.encryption.existingSecret | quote }}
      key: {{ $v.encryption.secretKey | quote }}
{{- else if include "probectl.isRef" $v.encryption.key }}
  value: {{ $v.encryption.key | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ $creds | quote }}
      key: encryption-key
{{- end }}
{{- if $v.encryption.previousSecretKey }}
- name: PROBECTL_ENCRYPTION_KEY_PREVIOUS
  valueFrom:
    secretKeyRef:
      name: {{ $v.encryption.existingSecret | quote }}
      key: {{ $v.encryption.previousSecretKey | quote }}
{{- else if $v.encryption.previousKey }}
- name: PROBECTL_ENCRYPTION_KEY_PREVIOUS
{{- if include "probectl.isRef" $v.encryption.previousKey }}
  value: {{ $v.encryption.previousKey | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ $creds | quote }}
      key: encryption-key-previous
{{- end }}
{{- end }}
{{- range $v.secretEnv }}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName | quote }}
      key: {{ .key | quote }}
{{- end }}
{{- end -}}

{{/* "true" when the chart must make the credentials Secret (some inline literal credential). */}}
{{- define "probectl.needsCredentialsSecret" -}}
{{- $v := .Values -}}
{{- $lit := list -}}
{{- range (list $v.database.url $v.database.password $v.encryption.key $v.encryption.previousKey) -}}
{{- if and . (not (include "probectl.isRef" .)) -}}{{- $lit = append $lit . -}}{{- end -}}
{{- end -}}
{{- if $lit -}}true{{- end -}}
{{- end -}}

{{/* The hardened security contexts: the same on every container and init container. */}}
{{- define "probectl.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "probectl.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Volumes every pod has: the data directory and /tmp (the root filesystem is read-only), CA files, user files. */}}
{{- define "probectl.volumes" -}}
- name: data
  emptyDir:
    sizeLimit: 256Mi
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- with .Values.database.ca }}
{{- if .secretName }}
- name: database-ca
  secret:
    secretName: {{ .secretName | quote }}
{{- else if .configMapName }}
- name: database-ca
  configMap:
    name: {{ .configMapName | quote }}
{{- end }}
{{- end }}
{{- range .Values.files }}
- name: {{ printf "file-%s" .name | quote }}
{{- if .secretName }}
  secret:
    secretName: {{ .secretName | quote }}
{{- else }}
  configMap:
    name: {{ .configMapName | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "probectl.volumeMounts" -}}
- name: data
  mountPath: /var/lib/probectl
- name: tmp
  mountPath: /tmp
{{- if or .Values.database.ca.secretName .Values.database.ca.configMapName }}
- name: database-ca
  mountPath: /etc/probectl/database-ca
  readOnly: true
{{- end }}
{{- range .Values.files }}
- name: {{ printf "file-%s" .name | quote }}
  mountPath: {{ printf "/etc/probectl/files/%s" .name | quote }}
  readOnly: true
{{- end }}
{{- end -}}
